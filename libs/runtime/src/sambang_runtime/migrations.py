"""Alembic per service: one history in ``services/<name>/migrations``, run from settings' URL."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def alembic_config(script_location: Path, url: str) -> Config:
    """An Alembic config for one service's history and database, without an ini file."""
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["sambang_url"] = url
    return cfg


#: Alembic's ``context`` is a module-level proxy, so two services migrating at once in one
#: process (embedded mode) would share it; migrations run one at a time.
_ALEMBIC_LOCK = threading.Lock()


def upgrade_to_head(script_location: Path, url: str) -> None:
    """Apply every migration (blocking; call through ``asyncio.to_thread`` from async code)."""
    with _ALEMBIC_LOCK:
        command.upgrade(alembic_config(script_location, url), "head")


def run_env(target_metadata: MetaData) -> None:
    """The body of a service's ``migrations/env.py``: online, async, batch mode on SQLite."""
    config = context.config
    url = config.attributes.get("sambang_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: set SAMBANG_DATABASE_URL or use `make migrate`")

    def do_run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things; batch mode copies the table instead.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(do_run)
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(
            url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=url.startswith("sqlite")
        )
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run_async())


_NOTIFY_TRIGGER = "outbox_message_notify"


def create_outbox_notify_trigger() -> None:
    """Inside a migration: the NOTIFY trigger the first revisions of queue and payment created.

    Superseded by ``drop_outbox_notify_trigger()`` (the relay no longer listens: the trigger cost a
    cluster-wide lock at every commit); kept because those revisions call it, and a migration's
    history does not change.
    """
    if context.get_bind().dialect.name == "postgresql":
        context.execute(
            f"CREATE OR REPLACE FUNCTION {_NOTIFY_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN PERFORM pg_notify('sambang_outbox', ''); RETURN NULL; END $$"
        )
        context.execute(f"DROP TRIGGER IF EXISTS {_NOTIFY_TRIGGER} ON outbox_message")
        context.execute(
            f"CREATE TRIGGER {_NOTIFY_TRIGGER} AFTER INSERT ON outbox_message"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {_NOTIFY_TRIGGER}()"
        )


def drop_outbox_notify_trigger() -> None:
    """Inside a migration: on PostgreSQL, remove the outbox's NOTIFY trigger and its function."""
    if context.get_bind().dialect.name == "postgresql":
        context.execute(f"DROP TRIGGER IF EXISTS {_NOTIFY_TRIGGER} ON outbox_message")
        context.execute(f"DROP FUNCTION IF EXISTS {_NOTIFY_TRIGGER}()")


def new_revision(script_location: Path, metadata_url: str, message: str) -> None:
    """Autogenerate a revision by comparing the models with a database migrated to head."""
    cfg = alembic_config(script_location, metadata_url)
    with _ALEMBIC_LOCK:
        command.upgrade(cfg, "head")
        command.revision(cfg, message=message, autogenerate=True)
