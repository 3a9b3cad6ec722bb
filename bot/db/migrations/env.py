"""Alembic environment: runs migrations on the app's engine; APScheduler's table is not ours to manage."""

from alembic import context
from sqlalchemy import create_engine

import bot.models  # noqa: F401  (registers every model)
from bot.db import Base

IGNORED_TABLES = {"apscheduler_jobs"}


def include_object(obj, name, type_, reflected, compare_to):
    """Keep tables we do not own (APScheduler's job store) out of autogenerate."""
    return not (type_ == "table" and name in IGNORED_TABLES)


def run_migrations_online() -> None:
    cfg = context.config
    engine = cfg.attributes.get("engine") or create_engine(cfg.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_object=include_object,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
