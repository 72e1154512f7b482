"""The FastAPI peer written for speed (see ../README.md): same API as sql_app."""

import hashlib
import hmac
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone

from fastapi import Body, Depends, FastAPI, Header, HTTPException, Query
from fastapi.responses import ORJSONResponse

from sql_app.schemas import ItemCreate, ItemUpdate

from . import db as database
from .db import ITEM

db = database.from_env()
JST = timedelta(hours=9)


@asynccontextmanager
async def lifespan(_app):
    await db.open()
    yield
    await db.close()


app = FastAPI(default_response_class=ORJSONResponse, lifespan=lifespan)


async def current_user(x_api_token: str | None = Header(default=None)) -> dict:
    prefix, _, rest = (x_api_token or "").partition("tdo_")
    selector, _, secret = rest.partition("_")
    user = None
    if not prefix and secret:
        user = await db.one(
            "SELECT id, is_active, token_hash FROM users WHERE token_selector = ?", selector
        )
    expected = "sha256:" + hashlib.sha256(secret.encode()).hexdigest()
    if user is None or not user["is_active"] or not hmac.compare_digest(user["token_hash"] or "", expected):
        raise HTTPException(status_code=401, detail="Not authenticated")
    return user


caller = Depends(current_user)
date_query = Query(default=None, pattern=r"^\d{8}$")


async def require_active(user_id: int):
    if await db.one("SELECT id FROM users WHERE id = ? AND is_active = ?", user_id, True) is None:
        raise HTTPException(status_code=404, detail="User not found")


@app.get("/health-check")
async def health_check():
    return {"status": "ok"}


@app.get("/livez")
async def livez():
    return {"status": "ok"}


@app.post("/users/{user_id}/items")
async def create_item(user_id: int, item: ItemCreate, user: dict = caller):
    await require_active(user_id)
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    return await db.write_one(
        f"INSERT INTO items (title, description, owner_id, created_at, done) "
        f"VALUES (?, ?, ?, ?, ?) RETURNING {ITEM}",
        item.title, item.description, user_id, db.timestamp(now), False,
    )


async def listing(owner, day, done, skip, limit):
    where, args = [], []
    if owner is not None:
        where.append("owner_id = ?")
        args.append(owner)
    if done is not None:
        where.append("done = ?")
        args.append(done)
    if day is not None:
        start = datetime.strptime(day, "%Y%m%d") - JST
        where.append("created_at >= ? AND created_at < ?")
        args += [db.timestamp(start), db.timestamp(start + timedelta(days=1))]
    sql = f"SELECT {ITEM} FROM items"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return await db.all(sql + " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?", *args, limit, skip)


@app.get("/users/{user_id}/items")
async def read_user_items(
    user_id: int,
    skip: int = Query(default=0, ge=0),
    limit: int = Query(default=100, ge=0, le=1000),
    date: str | None = date_query,
    done: bool | None = None,
    user: dict = caller,
):
    await require_active(user_id)
    return await listing(user_id, date, done, skip, limit)


@app.get("/users/{user_id}/items/{item_id}")
async def read_item(user_id: int, item_id: int, user: dict = caller):
    item = await db.one(f"SELECT {ITEM} FROM items WHERE id = ? AND owner_id = ?", item_id, user_id)
    if item is None:
        raise HTTPException(status_code=404, detail="Item not found")
    return item


@app.patch("/users/{user_id}/items/{item_id}")
async def update_item(user_id: int, item_id: int, changes: ItemUpdate = Body(), user: dict = caller):
    item = await db.write_one(
        "UPDATE items SET title = COALESCE(?, title), description = COALESCE(?, description), "
        f"done = COALESCE(?, done) WHERE id = ? AND owner_id = ? RETURNING {ITEM}",
        changes.title, changes.description, changes.done, item_id, user_id,
    )
    if item is None:
        raise HTTPException(status_code=404, detail="Item not found")
    return item


@app.get("/items")
async def read_items(
    skip: int = Query(default=0, ge=0),
    limit: int = Query(default=100, ge=0, le=1000),
    date: str | None = date_query,
    done: bool | None = None,
    user: dict = caller,
):
    return await listing(None, date, done, skip, limit)
