"""The tuned peer's database access: raw SQL on asyncpg or aiosqlite, one statement text per
query (written with `?`, numbered for PostgreSQL), rows returned as dicts ready for orjson."""

import asyncio
import os
from datetime import datetime

import aiosqlite
import asyncpg

ITEM = "title, description, id, owner_id, created_at, done"  # the fields in sql_app's order


class Postgres:
    """asyncpg caches each statement prepared per connection; 10 connections as todo-api."""

    def __init__(self, url: str):
        self.url = url

    async def open(self):
        self.pool = await asyncpg.create_pool(self.url, min_size=10, max_size=10)

    async def close(self):
        await self.pool.close()

    @staticmethod
    def sql(text: str) -> str:
        parts = text.split("?")
        return parts[0] + "".join(f"${n}{p}" for n, p in enumerate(parts[1:], 1))

    async def one(self, text: str, *args):
        row = await self.pool.fetchrow(self.sql(text), *args)
        return item_of(row) if row is not None else None

    async def all(self, text: str, *args):
        return [item_of(r) for r in await self.pool.fetch(self.sql(text), *args)]

    async def write_one(self, text: str, *args):
        return await self.one(text, *args)

    @staticmethod
    def timestamp(at: datetime):
        return at


class Sqlite:
    """todo-api's settings (WAL, synchronous=FULL); a reader and a writer connection, since
    SQLite has one writer and the server has one core: more threads would only queue."""

    def __init__(self, path: str):
        self.path = path

    async def connect(self):
        conn = await aiosqlite.connect(self.path)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=FULL")
        await conn.execute("PRAGMA busy_timeout=5000")
        return conn

    async def open(self):
        self.reader = await self.connect()
        self.writer = await self.connect()
        self.write_lock = asyncio.Lock()

    async def close(self):
        await self.reader.close()
        await self.writer.close()

    async def one(self, text: str, *args):
        async with self.reader.execute(text, args) as cursor:
            row = await cursor.fetchone()
        return item_of(row) if row is not None else None

    async def all(self, text: str, *args):
        async with self.reader.execute(text, args) as cursor:
            return [item_of(r) for r in await cursor.fetchall()]

    async def write_one(self, text: str, *args):
        # One transaction at a time on the one writer connection: coroutines interleave, and
        # a commit must not land in the middle of another request's statement.
        async with self.write_lock:
            async with self.writer.execute(text, args) as cursor:
                rows = await cursor.fetchall()
            await self.writer.commit()
        return item_of(rows[0]) if rows else None

    @staticmethod
    def timestamp(at: datetime):
        return at.strftime("%Y-%m-%d %H:%M:%S")


def item_of(row) -> dict:
    out = dict(row)
    at = out.get("created_at")
    if isinstance(at, datetime):
        out["created_at"] = at.isoformat()
    elif isinstance(at, str):
        out["created_at"] = at.replace(" ", "T")
    if "done" in out:
        out["done"] = bool(out["done"])
    return out


def from_env():
    url = os.environ["DATABASE_URL"]
    if url.startswith("sqlite:"):
        # SQLAlchemy's form: sqlite:///relative/path, sqlite:////absolute/path
        return Sqlite(url.removeprefix("sqlite:///"))
    return Postgres(url)
