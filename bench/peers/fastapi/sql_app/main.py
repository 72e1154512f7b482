import hashlib
import hmac

from fastapi import Depends, FastAPI, Header, HTTPException, Query
from sqlalchemy.orm import Session

from . import crud, models, schemas
from .database import SessionLocal, engine

models.Base.metadata.create_all(bind=engine)

app = FastAPI()


# Dependency
def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


db_session = Depends(get_db)


def current_user(
    x_api_token: str | None = Header(default=None), db: Session = db_session
) -> models.User:
    """The X-API-TOKEN check, on every request: tdo_<selector>_<secret>."""
    prefix, _, rest = (x_api_token or "").partition("tdo_")
    selector, _, secret = rest.partition("_")
    user = crud.get_user_by_token_selector(db, selector) if not prefix and secret else None
    expected = "sha256:" + hashlib.sha256(secret.encode()).hexdigest()
    if user is None or not user.is_active or not hmac.compare_digest(user.token_hash or "", expected):
        raise HTTPException(status_code=401, detail="Not authenticated")
    return user


caller = Depends(current_user)
date_query = Query(default=None, pattern=r"^\d{8}$")


@app.get("/health-check")
def health_check(db: Session = db_session):
    return {"status": "ok"}


@app.get("/livez")
def livez():
    return {"status": "ok"}


@app.post("/users/{user_id}/items", response_model=schemas.Item)
def create_item_for_user(
    user_id: int, item: schemas.ItemCreate, user: models.User = caller, db: Session = db_session
):
    if crud.get_active_user(db, user_id) is None:
        raise HTTPException(status_code=404, detail="User not found")
    return crud.create_user_item(db=db, item=item, user_id=user_id)


@app.get("/users/{user_id}/items", response_model=list[schemas.Item])
def read_user_items(
    user_id: int,
    skip: int = Query(default=0, ge=0),
    limit: int = Query(default=100, ge=0, le=1000),
    date: str | None = date_query,
    done: bool | None = None,
    user: models.User = caller,
    db: Session = db_session,
):
    if crud.get_active_user(db, user_id) is None:
        raise HTTPException(status_code=404, detail="User not found")
    return crud.get_items(db, owner_id=user_id, day=date, done=done, skip=skip, limit=limit)


@app.get("/users/{user_id}/items/{item_id}", response_model=schemas.Item)
def read_item(user_id: int, item_id: int, user: models.User = caller, db: Session = db_session):
    db_item = crud.get_item(db, user_id=user_id, item_id=item_id)
    if db_item is None:
        raise HTTPException(status_code=404, detail="Item not found")
    return db_item


@app.patch("/users/{user_id}/items/{item_id}", response_model=schemas.Item)
def update_item(
    user_id: int,
    item_id: int,
    changes: schemas.ItemUpdate,
    user: models.User = caller,
    db: Session = db_session,
):
    db_item = crud.get_item(db, user_id=user_id, item_id=item_id)
    if db_item is None:
        raise HTTPException(status_code=404, detail="Item not found")
    return crud.update_item(db, db_item, changes)


@app.get("/items", response_model=list[schemas.Item])
def read_items(
    skip: int = Query(default=0, ge=0),
    limit: int = Query(default=100, ge=0, le=1000),
    date: str | None = date_query,
    done: bool | None = None,
    user: models.User = caller,
    db: Session = db_session,
):
    return crud.get_items(db, day=date, done=done, skip=skip, limit=limit)
