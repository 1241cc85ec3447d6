"""The PostgreSQL warehouse: connection, embedded server, migrations and roles.

Schema changes are plain versioned SQL files (sql/migrations/V###__name.sql, applied once,
in order, recorded in audit.schema_migration) plus repeatable view files (sql/views/*.sql,
re-applied when their checksum changes). We chose this over Alembic: the schema is
SQL-first, views are rebuilt wholesale, and there are no ORM models to autogenerate from.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import time
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from chitieu.config import Settings
from chitieu.errors import WarehouseError, WarehouseUnavailable

__all__ = [
    "READER_ROLE",
    "SQL_DIR",
    "apply_migrations",
    "get_engine",
    "reader_url",
    "read_sql",
    "warehouse_url",
]

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
READER_ROLE = "chitieu_reader"
OWNER_ROLE = "chitieu"
DATABASE = "chitieu"
_MIGRATION_LOCK = 74_110_001
_log = logging.getLogger(__name__)


@cache
def read_sql(relative: str) -> str:
    """Text of a file under sql/."""
    return (SQL_DIR / relative).read_text(encoding="utf-8")


def sql_statements(script: str) -> list[str]:
    """A multi-statement SQL file's statements (split at a `;` ending a line), whole-line `--` comments dropped
    (a `:word` in a comment would read as a bind parameter), statements with nothing else left out."""
    out = []
    for statement in script.split(";\n"):
        body = "\n".join(line for line in statement.splitlines() if not line.strip().startswith("--"))
        if body.strip():
            out.append(body)
    return out


# --- where the warehouse is -------------------------------------------------------------


def _start_embedded(settings: Settings) -> URL:
    """Start (or reuse) the embedded PostgreSQL under $CHITIEU_HOME and return the owner's URL."""
    import pgserver  # imported lazily: only the embedded mode needs it

    settings.home.mkdir(parents=True, exist_ok=True)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    try:
        server = pgserver.get_server(settings.pgdata_dir, cleanup_mode=None)
        super_url = make_url(server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1))
    except Exception as exc:  # pgserver raises bare subprocess errors
        raise WarehouseUnavailable(f"cannot start the embedded PostgreSQL in {settings.pgdata_dir}: {exc}") from exc
    owner_url = super_url.set(username=OWNER_ROLE, password=None, database=DATABASE)
    marker = settings.pgdata_dir / ".chitieu_bootstrapped"
    if not marker.exists():
        _bootstrap_embedded(super_url)
        marker.write_text("ok\n")
    return owner_url


def _bootstrap_embedded(super_url: URL) -> None:
    """Create the pipeline's own role and database on a fresh embedded server."""
    engine = sa.create_engine(super_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if not conn.scalar(sa.text("select 1 from pg_roles where rolname = :r"), {"r": OWNER_ROLE}):
                conn.execute(sa.text(f"create role {OWNER_ROLE} login createrole"))
            if not conn.scalar(sa.text("select 1 from pg_database where datname = :d"), {"d": DATABASE}):
                conn.execute(sa.text(
                    f"create database {DATABASE} owner {OWNER_ROLE} encoding 'UTF8' template template0"))
    finally:
        engine.dispose()


def warehouse_url(settings: Settings) -> URL:
    """SQLAlchemy URL of the warehouse: CHITIEU_WAREHOUSE_URL, else the embedded server (started on demand)."""
    if settings.warehouse_url:
        url = make_url(settings.warehouse_url)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return url
    return _start_embedded(settings)


_ENGINES: dict[str, Engine] = {}
_SECRET_QUERY_KEYS = ("password", "sslpassword")


def _shown(url: URL) -> str:
    """The URL for messages: passwords hidden, in the user part and in the query string (libpq takes both)."""
    secrets_in_query = {k: "***" for k in url.query if k.lower() in _SECRET_QUERY_KEYS}
    return url.update_query_dict(secrets_in_query).render_as_string(hide_password=True)


def get_engine(settings: Settings, *, retries: int = 3) -> Engine:
    """A pooled engine for the warehouse, checked with a round trip; transient failures are retried."""
    url = warehouse_url(settings)
    key = url.render_as_string(hide_password=False)
    engine = _ENGINES.get(key)
    if engine is None:
        engine = sa.create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4,
                                  connect_args={"application_name": "chitieu", "connect_timeout": 10})
        _ENGINES[key] = engine
    delay = 1.0
    for attempt in range(retries + 1):
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("select 1"))
            return engine
        except sa.exc.OperationalError as exc:
            if attempt == retries:
                reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
                raise WarehouseUnavailable(f"warehouse unreachable at {_shown(url)}: {reason}") from None
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


# --- schema ---------------------------------------------------------------------------


def _checksum(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _migration_files() -> list[Path]:
    return sorted((SQL_DIR / "migrations").glob("V*__*.sql"))


def _view_files() -> list[Path]:
    return sorted((SQL_DIR / "views").glob("*.sql"))


def apply_migrations(engine: Engine) -> list[str]:
    """Apply pending migrations and changed views in one transaction; return what was applied."""
    applied: list[str] = []
    with engine.begin() as conn:
        conn.execute(sa.text("select pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        conn.execute(sa.text("create schema if not exists audit"))
        conn.execute(sa.text(
            "create table if not exists audit.schema_migration ("
            " name text primary key, checksum text not null,"
            " applied_at timestamptz not null default now())"))
        done = dict(conn.execute(sa.text("select name, checksum from audit.schema_migration")).all())
        for path in _migration_files():
            if path.name in done:
                continue
            conn.exec_driver_sql(path.read_text(encoding="utf-8"))
            conn.execute(sa.text("insert into audit.schema_migration(name, checksum) values (:n, :c)"),
                         {"n": path.name, "c": _checksum(path.read_text(encoding="utf-8"))})
            applied.append(path.name)
        views = _view_files()
        combined = _checksum("".join(p.name + p.read_text(encoding="utf-8") for p in views))
        if done.get("views") != combined or applied:
            conn.exec_driver_sql("drop schema if exists mart cascade; create schema mart;")
            conn.exec_driver_sql("comment on schema mart is 'Stable views for BI tools (CONTRACT.md section 6).'")
            for path in views:
                conn.exec_driver_sql(path.read_text(encoding="utf-8"))
            conn.execute(sa.text(
                "insert into audit.schema_migration(name, checksum) values ('views', :c) "
                "on conflict (name) do update set checksum = excluded.checksum, applied_at = now()"),
                {"c": combined})
            applied.append("views")
        _grant_reader(conn)
    return applied


def _grant_reader(conn: sa.Connection) -> None:
    """Ensure chitieu_reader exists and can SELECT from mart and nothing else."""
    exists = conn.scalar(sa.text("select 1 from pg_roles where rolname = :r"), {"r": READER_ROLE})
    if not exists:
        try:
            with conn.begin_nested():
                conn.execute(sa.text(f"create role {READER_ROLE} login"))
        except sa.exc.ProgrammingError as exc:
            raise WarehouseError(f"cannot create role {READER_ROLE}: the warehouse user needs CREATEROLE") from exc
    db = conn.scalar(sa.text("select current_database()"))
    conn.exec_driver_sql(read_sql("grants/reader.sql").replace(":database", f'"{db}"'))


def reader_url(settings: Settings, engine: Engine) -> URL:
    """URL of the read-only role; its password is kept under $CHITIEU_HOME (mode 0600)."""
    secret_file = settings.home / "reader.secret"
    password = os.environ.get("CHITIEU_READER_PASSWORD")
    if not password:
        if secret_file.exists():
            password = secret_file.read_text().strip()
        else:
            password = secrets.token_urlsafe(18)
            settings.home.mkdir(parents=True, exist_ok=True)
            secret_file.touch(mode=0o600)
            secret_file.write_text(password + "\n")
    with engine.begin() as conn:
        quoted = password.replace("'", "''")
        conn.exec_driver_sql(f"alter role {READER_ROLE} password '{quoted}'")
    return engine.url.set(username=READER_ROLE, password=password)
