"""The control plane on PostgreSQL: one schema per namespace, chosen through `search_path`.

Every table, including Alembic's version table, lands in the namespace's schema, so several
deployments (or test runs) share one database without meeting, and the same migrations run
unchanged.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool


def sqlalchemy_url(url: str) -> str:
    """A `postgresql://` URL with the psycopg 3 driver named (SQLAlchemy defaults to psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def schema_url(url: str, schema: str) -> str:
    """The URL whose connections resolve names in `schema` first."""
    parts = urlsplit(sqlalchemy_url(url))
    option = "options=" + quote(f"-csearch_path={schema}")
    query = f"{parts.query}&{option}" if parts.query else option
    return urlunsplit(parts._replace(query=query))


def ensure_schema(url: str, schema: str) -> None:
    """Create the namespace's schema if it is missing (idempotent, safe to race)."""
    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    finally:
        engine.dispose()


def drop_schema(url: str, schema: str) -> None:
    """Drop the namespace's schema and everything in it (test clean-up, teardown)."""
    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()
