"""Shared fixtures: one Prefect test harness and one real PostgreSQL per session, a fresh database per test."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from pathlib import Path

import pytest

from chitieu.runtime import quiet_environment

quiet_environment()

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CATALOG = REPO / "catalog"
TEMPLATE_DB = "chitieu_test_template"


@pytest.fixture(scope="session", autouse=True)
def prefect_harness():
    """Real Prefect flow runs against a throwaway server, started once for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def server_url(tmp_path_factory) -> sa.URL:
    """Admin URL of the session's PostgreSQL: CHITIEU_TEST_WAREHOUSE_URL, else an embedded pgserver."""
    given = os.environ.get("CHITIEU_TEST_WAREHOUSE_URL")
    if given:
        return make_url(given).set(drivername="postgresql+psycopg")
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="stop")
    return make_url(server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1))


def admin_engine(url: sa.URL) -> sa.Engine:
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


@pytest.fixture(scope="session")
def template_url(server_url, tmp_path_factory) -> sa.URL:
    """A database with every migration applied and the catalog loaded, copied for each test."""
    from chitieu.catalog import load_catalog, read_catalog
    from chitieu.warehouse import apply_migrations

    admin = admin_engine(server_url)
    with admin.connect() as conn:
        if not conn.scalar(sa.text("select 1 from pg_roles where rolname = 'chitieu'")):
            conn.execute(sa.text("create role chitieu login createrole"))
        conn.execute(sa.text(f"drop database if exists {TEMPLATE_DB}"))
        conn.execute(sa.text(f"create database {TEMPLATE_DB} owner chitieu"))
    url = server_url.set(database=TEMPLATE_DB, username="chitieu")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    apply_migrations(engine)
    with engine.begin() as conn:
        load_catalog(conn, read_catalog(CATALOG))
    engine.dispose()
    admin.dispose()
    return url


@contextlib.contextmanager
def fresh_database(server_url: sa.URL, template_url: sa.URL, prefix: str = "t", *, from_template: bool = True):
    """A database cloned from the migrated template (or empty); its pooled engines disposed and the database
    dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = admin_engine(server_url)
    clone = f" template {TEMPLATE_DB}" if from_template else ""
    for attempt in range(8):  # the template may still be busy for a moment after the previous clone
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f"create database {name}{clone} owner chitieu"))
            break
        except sa.exc.OperationalError:
            if attempt == 7:
                raise
            time.sleep(0.5 * (attempt + 1))
    try:
        yield template_url.set(database=name)
    finally:
        from chitieu import warehouse

        for key in [k for k in warehouse._ENGINES if f"/{name}" in k]:
            warehouse._ENGINES.pop(key).dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f"drop database if exists {name} with (force)"))
        admin.dispose()


@pytest.fixture
def warehouse_url(server_url, template_url) -> sa.URL:
    """A fresh database cloned from the template, dropped after the test."""
    with fresh_database(server_url, template_url) as url:
        yield url


@pytest.fixture
def env(tmp_path, warehouse_url, monkeypatch) -> dict[str, Path]:
    """A chitieu environment: its own home, inbox, the repo's catalog and a fresh warehouse."""
    return point_chitieu_at(monkeypatch, tmp_path, warehouse_url)


def point_chitieu_at(patch: pytest.MonkeyPatch, root: Path, url: sa.URL, catalog: Path = CATALOG) -> dict[str, Path]:
    """Set the CHITIEU_* variables to a new home and inbox under `root`, `catalog` and the warehouse `url`;
    no alerts are sent (tests that want them set CHITIEU_SMTP_URL after)."""
    home, inbox = root / "home", root / "inbox"
    home.mkdir(parents=True)
    inbox.mkdir(parents=True)
    patch.setenv("CHITIEU_HOME", str(home))
    patch.setenv("CHITIEU_INBOX", str(inbox))
    patch.setenv("CHITIEU_CATALOG", str(catalog))
    patch.setenv("CHITIEU_WAREHOUSE_URL", url.render_as_string(hide_password=False))
    patch.delenv("CHITIEU_SMTP_URL", raising=False)
    patch.delenv("CHITIEU_ALERT_URLS", raising=False)
    return {"home": home, "inbox": inbox}


@pytest.fixture
def engine(env) -> sa.Engine:
    from chitieu.config import load_settings
    from chitieu.warehouse import get_engine

    return get_engine(load_settings())
