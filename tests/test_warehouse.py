"""The warehouse connection and schema runner: edited migrations refused, one layer of connection retries."""

from __future__ import annotations

import shutil
import time

import pytest
import sqlalchemy as sa
from prefect import flow, task

from chitieu import warehouse
from chitieu.config import load_settings
from chitieu.errors import MigrationEdited, WarehouseNotInitialised, WarehouseUnavailable
from chitieu.warehouse import apply_migrations, get_engine

UNREACHABLE = "postgresql+psycopg://chitieu@127.0.0.1:1/chitieu"  # port 1: refused at once


@pytest.fixture
def sql_copy(tmp_path, monkeypatch):
    """A copy of sql/ that the runner reads instead of the checkout's."""
    copy = tmp_path / "sql"
    shutil.copytree(warehouse.SQL_DIR, copy)
    monkeypatch.setattr(warehouse, "SQL_DIR", copy)
    return copy


def test_an_edited_applied_migration_is_refused_naming_the_file(engine, sql_copy):
    first = sorted((sql_copy / "migrations").glob("V*.sql"))[0]
    first.write_text(first.read_text(encoding="utf-8") + "\n-- edited after it was applied\n", encoding="utf-8")
    with pytest.raises(MigrationEdited, match=f"sql/migrations/{first.name} was edited"):
        apply_migrations(engine)


def test_a_pending_migration_asks_for_chitieu_init(env, sql_copy, monkeypatch):
    (sql_copy / "migrations" / "V999__later.sql").write_text("select 1;\n", encoding="utf-8")
    monkeypatch.setattr(warehouse, "_SCHEMA_CHECKED", set())
    with pytest.raises(WarehouseNotInitialised, match=r"V999__later\.sql: run `chitieu init`"):
        get_engine(load_settings())


@pytest.fixture
def connection_attempts():
    attempts: list[float] = []

    def count(*_args) -> None:
        attempts.append(time.monotonic())

    sa.event.listen(sa.Engine, "do_connect", count)
    yield attempts
    sa.event.remove(sa.Engine, "do_connect", count)


def test_one_layer_of_connection_retries(monkeypatch, connection_attempts):
    """A task with retries of its own tries the warehouse once per try (3 attempts, not 3 x 4 = 12 with ~33 s of
    backoff); a flow body, which has no task retries around it, keeps the connection's own backoff (4 attempts)."""
    monkeypatch.setenv("CHITIEU_WAREHOUSE_URL", UNREACHABLE)
    settings = load_settings()

    @task(retries=2, retry_delay_seconds=0)
    def reach_warehouse() -> None:
        get_engine(settings)

    @flow
    def through_a_task() -> None:
        reach_warehouse()

    state = through_a_task(return_state=True)
    assert state.is_failed()
    assert len(connection_attempts) == 3, len(connection_attempts)

    connection_attempts.clear()
    with pytest.raises(WarehouseUnavailable, match="warehouse unreachable"):
        get_engine(settings)
    assert len(connection_attempts) == 4
    gaps = [b - a for a, b in zip(connection_attempts, connection_attempts[1:], strict=False)]
    assert [round(g) for g in gaps] == [1, 2, 4], gaps
