"""Creates the tables and indexes (python -m sql_app.schema), as the app does at start."""

from . import models
from .database import engine

models.Base.metadata.create_all(bind=engine)
