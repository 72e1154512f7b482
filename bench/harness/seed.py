"""Bulk-inserts users and items into an existing schema, for the benchmark and for tests.

Works on todo-api's schema (run `todo-api migrate` first) and on the FastAPI peers' schema
(`python -m sql_app.schema`): both have the columns inserted here, and every other column has
a default. Each table is filled by ONE statement (a recursive CTE on SQLite, generate_series
on PostgreSQL), so 1,000,000 items take seconds, not a million requests.

The data is a pure function of (users, items), so every peer gets exactly the same rows:
- user u (1..users): email bench<u>@example.com, password `benchmark-password` (argon2id),
  token `tdo_<selector>_<secret>` derived from u (see `token`), stored as todo-api stores it
  without TOKEN_PEPPER: `sha256:<hex sha256(secret)>`;
- item i (1..items) has id i, owner ((i - 1) % users) + 1, created_at START + i * STEP
  seconds (UTC), done when i % 3 == 0.

Stdlib only (sqlite3) plus `psql` for PostgreSQL, so a shell script or a Rust test can call
it without the benchmark's virtualenv:
    bench/seed --url sqlite://path.db --users 1 --items 1000000
    bench/seed --url postgres://postgres@127.0.0.1:5432/db --users 100 --items 100000
"""

import argparse
import datetime as dt
import hashlib
import json
import subprocess
import sqlite3
import sys
import time

START = dt.datetime(2023, 1, 1)  # UTC
STEP = 60  # seconds between consecutive items: 1,440 items a day
PASSWORD = "benchmark-password"
# argon2id (m=19456, t=2, p=1: todo-api's parameters) of PASSWORD, computed once; any valid
# argon2id string would do, since the benchmark never signs in with a password.
PASSWORD_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$lQzrRO06AUYsE7YGKXtxhQ"
    "$edBHWklLuG1ZfOXVoY5hFBoRyLryAw4i2gO53JhY2DY"
)


def token(user_id: int) -> tuple[str, str, str]:
    """(token, selector, stored hash) for a user: deterministic, so the load generator
    knows every token without reading the database. Benchmark data only."""
    selector = hashlib.sha256(f"bench-selector-{user_id}".encode()).hexdigest()[:24]
    secret = hashlib.sha256(f"bench-secret-{user_id}".encode()).hexdigest()[:43]
    stored = "sha256:" + hashlib.sha256(secret.encode()).hexdigest()
    return f"tdo_{selector}_{secret}", selector, stored


def owner_of(item_id: int, users: int) -> int:
    return (item_id - 1) % users + 1


def created_at(item_id: int) -> dt.datetime:
    return START + dt.timedelta(seconds=item_id * STEP)


def user_rows(users: int):
    for u in range(1, users + 1):
        _, selector, stored = token(u)
        yield (u, f"bench{u}@example.com", PASSWORD_HASH, True, selector, stored)


USERS_INSERT = (
    "INSERT INTO users (id, email, hashed_password, is_active, token_selector, token_hash) "
    "VALUES ({})"
)


def seed_sqlite(path: str, users: int, items: int) -> None:
    db = sqlite3.connect(path)
    start = int(START.replace(tzinfo=dt.timezone.utc).timestamp())
    with db:  # one transaction
        db.executemany(USERS_INSERT.format(", ".join("?" * 6)), user_rows(users))
        db.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 WHERE ?1 > 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) "
            "INSERT INTO items (id, title, description, owner_id, created_at, done) "
            "SELECT i, 'item ' || i, 'description of item ' || i, (i - 1) % ?2 + 1, "
            "strftime('%Y-%m-%d %H:%M:%S', ?3 + i * ?4, 'unixepoch'), i % 3 = 0 FROM n",
            (items, users, start, STEP),
        )
    db.execute("ANALYZE")
    db.close()


def seed_postgres(url: str, users: int, items: int) -> None:
    def literal(v):
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        if isinstance(v, int):
            return str(v)
        return "'" + str(v).replace("'", "''") + "'"

    values = ",\n".join("(" + ", ".join(map(literal, row)) + ")" for row in user_rows(users))
    script = f"""
BEGIN;
INSERT INTO users (id, email, hashed_password, is_active, token_selector, token_hash)
VALUES {values};
INSERT INTO items (id, title, description, owner_id, created_at, done)
SELECT i, 'item ' || i, 'description of item ' || i, (i - 1) % {users} + 1,
       TIMESTAMP '{START:%Y-%m-%d %H:%M:%S}' + make_interval(secs => i * {STEP}), i % 3 = 0
FROM generate_series(1, {items}) AS i;
-- Ids were given explicitly: move the sequences past them, as an import would.
SELECT setval(pg_get_serial_sequence('users', 'id'), {max(users, 1)});
SELECT setval(pg_get_serial_sequence('items', 'id'), {max(items, 1)});
COMMIT;
ANALYZE users;
ANALYZE items;
"""
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url],
        input=script, text=True, check=True, stdout=subprocess.DEVNULL,
    )


def seed(url: str, users: int, items: int) -> None:
    if users < 1:
        raise ValueError("at least one user: every item needs an owner")
    if url.startswith("sqlite:"):
        path = url.removeprefix("sqlite:").removeprefix("//").split("?")[0]
        seed_sqlite(path, users, items)
    elif url.startswith(("postgres:", "postgresql:")):
        seed_postgres(url, users, items)
    else:
        raise ValueError(f"unsupported URL {url!r}: sqlite:// or postgres://")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="sqlite://PATH or postgres://... (schema must exist)")
    p.add_argument("--users", type=int, default=100)
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--print-tokens", action="store_true", help="print 'id token' per user")
    args = p.parse_args()
    started = time.monotonic()
    seed(args.url, args.users, args.items)
    if args.print_tokens:
        for u in range(1, args.users + 1):
            print(u, token(u)[0])
    else:
        print(json.dumps({
            "users": args.users, "items": args.items, "password": PASSWORD,
            "token_of_user_1": token(1)[0], "seconds": round(time.monotonic() - started, 2),
        }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
