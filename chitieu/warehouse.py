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
import sys
import time
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from chitieu.config import Settings
from chitieu.errors import (
    ConfigError,
    MigrationEdited,
    WarehouseError,
    WarehouseNotInitialised,
    WarehouseUnavailable,
)

__all__ = [
    "READER_ROLE",
    "SQL_DIR",
    "apply_migrations",
    "get_engine",
    "reader_url",
    "read_sql",
    "stop_started_embedded",
    "warehouse_url",
]

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
READER_ROLE = "chitieu_reader"
OWNER_ROLE = "chitieu"
DATABASE = "chitieu"
_MIGRATION_LOCK = 74_110_001
_BOOTSTRAPPED = ".chitieu_bootstrapped"
_STARTED_HERE: dict[Path, tuple] = {}  # embedded servers this process started: pgdata -> (pgserver handle, URL)
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


def _start_embedded(settings: Settings, *, create: bool) -> URL:
    """Start (or reuse) the embedded PostgreSQL under $CHITIEU_HOME and return the owner's URL.

    Only `chitieu init` (create=True) makes a new one: any other command on a home without one (a worker started
    without the CHITIEU_* environment of `chitieu init`) is told to run it, and starts nothing."""
    marker = settings.pgdata_dir / _BOOTSTRAPPED
    if not create and not marker.exists():
        raise WarehouseNotInitialised(
            f"no warehouse in {settings.home} (CHITIEU_HOME) and CHITIEU_WAREHOUSE_URL is not set:"
            " run `chitieu init` first, with the same CHITIEU_* environment")
    import pgserver  # imported lazily: only the embedded mode needs it
    from pgserver.utils import PostmasterInfo

    settings.home.mkdir(parents=True, exist_ok=True)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    running = PostmasterInfo.read_from_pgdata(settings.pgdata_dir) if settings.pgdata_dir.is_dir() else None
    try:
        server = pgserver.get_server(settings.pgdata_dir, cleanup_mode=None)
        super_url = make_url(server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1))
    except Exception as exc:  # pgserver raises bare subprocess errors
        raise WarehouseUnavailable(f"cannot start the embedded PostgreSQL in {settings.pgdata_dir}: {exc}") from exc
    owner_url = super_url.set(username=OWNER_ROLE, password=None, database=DATABASE)
    if running is None or not running.is_running():
        _STARTED_HERE[server.pgdata] = (server, owner_url.render_as_string(hide_password=False))
    if not marker.exists():
        _bootstrap_embedded(super_url)
        marker.write_text("ok\n")
    return owner_url


def stop_started_embedded() -> None:
    """Stop the embedded servers this process started, unless another live process uses them too: a command that
    failed leaves no server running that it started (successful ones leave theirs for the next command)."""
    for pgdata in list(_STARTED_HERE):
        server, key = _STARTED_HERE.pop(pgdata)
        if key in _ENGINES:
            _ENGINES.pop(key).dispose()
        server.cleanup_mode = "stop"  # pgserver stops it only if this process is its last user
        server.cleanup()


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


def warehouse_url(settings: Settings, *, create: bool = False) -> URL:
    """SQLAlchemy URL of the warehouse: CHITIEU_WAREHOUSE_URL, else the embedded server (started on demand;
    created only with `create`, by `chitieu init`)."""
    if settings.warehouse_url:
        try:
            url = make_url(settings.warehouse_url)
        except sa.exc.ArgumentError:
            raise ConfigError("CHITIEU_WAREHOUSE_URL is not a database URL: expected"
                              " postgresql+psycopg://user:password@host:port/database") from None
        if url.get_backend_name() not in ("postgresql", "postgres"):
            raise ConfigError(f"CHITIEU_WAREHOUSE_URL names a {url.get_backend_name()!r} database: chitieu needs"
                              " PostgreSQL, e.g. postgresql+psycopg://user:password@host:port/database")
        return url.set(drivername="postgresql+psycopg")  # the driver chitieu ships with, whatever the URL named
    return _start_embedded(settings, create=create)


_ENGINES: dict[str, Engine] = {}
_SECRET_QUERY_KEYS = ("password", "sslpassword")


def _shown(url: URL) -> str:
    """The URL for messages: passwords hidden, in the user part and in the query string (libpq takes both)."""
    secrets_in_query = {k: "***" for k in url.query if k.lower() in _SECRET_QUERY_KEYS}
    return url.update_query_dict(secrets_in_query).render_as_string(hide_password=True)


def get_engine(settings: Settings, *, retries: int | None = None, create: bool = False) -> Engine:
    """A pooled engine for the warehouse, checked with a round trip; unreachable, it is retried with backoff.

    `retries` defaults to 3 (1 + 2 + 4 s of backoff) in a flow body or a command, and to 0 inside a Prefect task
    that has retries of its own: those already retry the whole step, and both together made up to 12 attempts
    and ~33 s of waiting per step (3 task tries x 4 connection tries). The first check of an engine also makes
    sure the warehouse holds this code's schema; `create` (chitieu init) allows a new embedded server and an
    empty database."""
    url = warehouse_url(settings, create=create)
    key = url.render_as_string(hide_password=False)
    engine = _ENGINES.get(key)
    if engine is None:
        engine = sa.create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4,
                                  connect_args={"application_name": "chitieu", "connect_timeout": 10})
        _ENGINES[key] = engine
    retries = _connect_retries() if retries is None else retries
    delay = 1.0
    for attempt in range(retries + 1):
        try:
            with engine.connect() as conn:
                if create or key in _SCHEMA_CHECKED:
                    conn.execute(sa.text("select 1"))
                else:
                    _require_schema(conn, url)
                    _SCHEMA_CHECKED.add(key)
            return engine
        except sa.exc.OperationalError as exc:
            if attempt == retries:
                reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
                raise WarehouseUnavailable(f"warehouse unreachable at {_shown(url)}: {reason}") from None
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


_SCHEMA_CHECKED: set[str] = set()


def _connect_retries() -> int:
    """No retries of our own inside a Prefect task that retries; three elsewhere."""
    if "prefect" in sys.modules:
        from prefect.context import TaskRunContext

        context = TaskRunContext.get()
        if context is not None and context.task.retries:
            return 0
    return 3


def _require_schema(conn: sa.Connection, url: URL) -> None:
    """Refuse a warehouse that `chitieu init` never set up, or set up by an older chitieu (migrations pending)."""
    if not conn.scalar(sa.text("select to_regclass('audit.schema_migration') is not null")):
        raise WarehouseNotInitialised(f"the warehouse at {_shown(url)} has no chitieu schema: run `chitieu init`"
                                      " first, with the same CHITIEU_* environment")
    applied = set(conn.scalars(sa.text("select name from audit.schema_migration")))
    pending = [path.name for path in _migration_files() if path.name not in applied]
    if pending:
        raise WarehouseNotInitialised(f"the warehouse at {_shown(url)} lacks migration {', '.join(pending)}:"
                                      " run `chitieu init` to upgrade it")


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
            text = path.read_text(encoding="utf-8")
            if path.name in done:
                if done[path.name] != _checksum(text):
                    raise MigrationEdited(
                        f"{path.relative_to(SQL_DIR.parent)} was edited after it was applied to this warehouse"
                        " (its checksum differs from the one recorded in audit.schema_migration): restore it and"
                        " put the change in a new migration")
                continue
            conn.exec_driver_sql(text)
            conn.execute(sa.text("insert into audit.schema_migration(name, checksum) values (:n, :c)"),
                         {"n": path.name, "c": _checksum(text)})
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
