from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import models, schemas

JST = timedelta(hours=9)


def get_user_by_token_selector(db: Session, selector: str) -> models.User | None:
    return db.scalar(select(models.User).where(models.User.token_selector == selector))


def get_active_user(db: Session, user_id: int) -> models.User | None:
    return db.scalar(
        select(models.User).where(models.User.id == user_id, models.User.is_active == True)  # noqa: E712
    )


def get_item(db: Session, user_id: int, item_id: int) -> models.Item | None:
    return db.scalar(
        select(models.Item).where(models.Item.id == item_id, models.Item.owner_id == user_id)
    )


def get_items(
    db: Session,
    owner_id: int | None = None,
    day: str | None = None,
    done: bool | None = None,
    skip: int = 0,
    limit: int = 100,
) -> list[models.Item]:
    """Newest first; `day` is YYYYMMDD in Japan, i.e. a range of created_at in UTC."""
    query = select(models.Item)
    if owner_id is not None:
        query = query.where(models.Item.owner_id == owner_id)
    if done is not None:
        query = query.where(models.Item.done == done)
    if day is not None:
        # (On SQLite, SQLAlchemy binds '... 15:00:00.000000', so an item at exactly the end
        # of the day is included: the tutorial style's quirk, kept; it costs nothing.)
        start = datetime.strptime(day, "%Y%m%d") - JST
        query = query.where(
            models.Item.created_at >= start, models.Item.created_at < start + timedelta(days=1)
        )
    query = query.order_by(models.Item.created_at.desc(), models.Item.id.desc())
    return list(db.scalars(query.offset(skip).limit(limit)))


def create_user_item(db: Session, item: schemas.ItemCreate, user_id: int) -> models.Item:
    db_item = models.Item(**item.model_dump(), owner_id=user_id)
    db.add(db_item)
    db.commit()
    db.refresh(db_item)
    return db_item


def update_item(db: Session, db_item: models.Item, changes: schemas.ItemUpdate) -> models.Item:
    for field, value in changes.model_dump(exclude_none=True).items():
        setattr(db_item, field, value)
    db.commit()
    db.refresh(db_item)
    return db_item
