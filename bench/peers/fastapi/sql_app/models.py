from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql import func


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String, unique=True, index=True)
    hashed_password: Mapped[str] = mapped_column(String)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The X-API-TOKEN check: the selector finds the row, only a hash of the secret is kept.
    token_selector: Mapped[str | None] = mapped_column(String, unique=True, index=True)
    token_hash: Mapped[str | None] = mapped_column(String)

    items = relationship("Item", back_populates="owner")


class Item(Base):
    __tablename__ = "items"
    # The same indexes as todo-api's migrations: each listing is an index range scan.
    __table_args__ = (
        Index("items_owner_created", "owner_id", "created_at", "id"),
        Index("items_owner_done_created", "owner_id", "done", "created_at", "id"),
        Index("items_created", "created_at", "id"),
        Index("items_done_created", "done", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String)
    description: Mapped[str | None] = mapped_column(String)
    owner_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    done: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    owner = relationship("User", back_populates="items")
