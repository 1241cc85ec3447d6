"""Foundation: migrations, catalog loading, catalog errors, the read-only BI role — on real PostgreSQL."""

from __future__ import annotations

import csv
import shutil

import pytest
import sqlalchemy as sa

from chitieu.catalog import load_catalog, read_catalog
from chitieu.errors import CatalogError
from chitieu.warehouse import READER_ROLE, apply_migrations, reader_url
from tests.conftest import CATALOG, REPO


def test_migrations_are_idempotent(engine):
    before = engine.connect().execute(sa.text("select name, checksum from audit.schema_migration order by 1")).all()
    assert apply_migrations(engine) == []
    after = engine.connect().execute(sa.text("select name, checksum from audit.schema_migration order by 1")).all()
    assert before == after
    migrations = sorted(p.name for p in (REPO / "sql" / "migrations").glob("V*.sql"))
    assert [n for n, _ in after if n != "views"] == migrations


def test_schemas_and_mart_views_exist_with_comments(engine):
    with engine.connect() as conn:
        schemas = set(conn.scalars(sa.text("select schema_name from information_schema.schemata")))
        assert {"raw", "core", "audit", "mart"} <= schemas
        comments = dict(conn.execute(sa.text(
            "select c.relname, obj_description(c.oid) from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'mart'")).all())
    for view in ("metric_value", "target_attainment", "disbursement_progress", "submission_log", "data_quality",
                 "reporting_rate"):
        assert comments.get(view), f"mart.{view} missing or without a COMMENT"


def test_contract_columns_of_mart_views(engine):
    expected = {
        "metric_value": ["metric_code", "unit_code", "period", "scope", "numerator", "denominator", "value"],
        "target_attainment": ["target_code", "metric_code", "unit_code", "year", "comparator", "target_value",
                              "actual_value", "as_of_period", "status"],
        "disbursement_progress": ["project_code", "unit_code", "project_group", "as_of_date", "capital_plan_vnd",
                                  "disbursed_vnd", "progress_pct", "milestone_date", "milestone_pct", "status"],
        "submission_log": ["submission_id", "unit_code", "feed", "file_name", "sha256", "received_at", "status",
                           "rows_total", "rows_failed", "version", "is_current"],
        "data_quality": ["submission_id", "unit_code", "feed", "expectation", "severity", "column_name",
                         "failed_rows", "sample"],
        "reporting_rate": ["unit_code", "feed", "period", "due_date", "received", "on_time"],
    }
    with engine.connect() as conn:
        for view, columns in expected.items():
            have = list(conn.scalars(sa.text(
                "select column_name from information_schema.columns where table_schema = 'mart'"
                " and table_name = :v order by ordinal_position"), {"v": view}))
            assert have[: len(columns)] == columns, view


def test_catalog_loads_every_target_with_its_source(engine):
    catalog = read_catalog(CATALOG)
    with open(CATALOG / "targets_2026.csv", encoding="utf-8") as fh:
        csv_targets = {row["target_code"] for row in csv.DictReader(fh)}
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select target_code, source_doc, source_clause from core.target")).all()
    assert {r.target_code for r in rows} == csv_targets
    assert len(rows) >= 42
    assert all(r.source_doc and r.source_clause for r in rows)
    units = {u["unit_code"] for u in catalog.units}
    assert {"LANGSON", "VP_UBND", "TTPVHCC", "TTTT", "SO_NOIVU", "SO_TAICHINH", "SO_KHCN", "XA_CHILANG"} <= units
    assert sum(1 for u in catalog.units if u["level"] == "commune") >= 11
    metrics = {"online_dossier_rate", "on_time_resolution_rate", "satisfaction_rate", "e_result_rate",
               "petition_on_time_rate", "task_on_time_rate", "online_conference_share", "document_reduction_rate",
               "disbursement_rate"}
    assert metrics <= catalog.indicator_codes


def test_catalog_reload_is_a_noop_and_edits_update(engine, tmp_path):
    catalog = read_catalog(CATALOG)
    with engine.begin() as conn:
        assert load_catalog(conn, catalog) == {"unit": 0, "indicator": 0, "target": 0, "milestone": 0}
    edited = tmp_path / "catalog"
    shutil.copytree(CATALOG, edited)
    text = (edited / "units.csv").read_text(encoding="utf-8")
    (edited / "units.csv").write_text(text.replace("Xã Chi Lăng", "Xã Chi Lăng (sửa)"), encoding="utf-8")
    with engine.begin() as conn:
        changed = load_catalog(conn, read_catalog(edited))
        assert changed["unit"] == 1
        assert conn.scalar(sa.text("select name_vi from core.unit where unit_code = 'XA_CHILANG'")) \
            == "Xã Chi Lăng (sửa)"


@pytest.mark.parametrize("file,find,replace,line,column", [
    ("units.csv", "XA_CHILANG,", "xa chilang,", None, "unit_code"),
    ("units.csv", ",commune,", ",village,", None, "level"),
    ("targets_2026.csv", ",>=,95,", ",>=,ninety-five,", None, "target_value"),
    ("targets_2026.csv", ",>=,95,", ",≥,95,", None, "comparator"),
    ("indicators.csv", ",month,last,", ",weekly,last,", None, "periodicity"),
])
def test_bad_catalog_row_names_file_line_and_column(tmp_path, file, find, replace, line, column):
    bad = tmp_path / "catalog"
    shutil.copytree(CATALOG, bad)
    text = (bad / file).read_text(encoding="utf-8")
    assert find in text
    (bad / file).write_text(text.replace(find, replace, 1), encoding="utf-8")
    expected_line = next(i for i, row in enumerate(text.splitlines(), start=1) if find in row)
    with pytest.raises(CatalogError) as err:
        read_catalog(bad)
    assert err.value.file == file and err.value.column == column and err.value.line == expected_line
    assert f"{file}, line {expected_line}, column {column}" in str(err.value)


def test_reader_role_reads_mart_only(env, engine):
    from chitieu.config import load_settings

    url = reader_url(load_settings(), engine)
    reader = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with reader.connect() as conn:
            assert conn.scalar(sa.text("select current_user")) == READER_ROLE
            conn.execute(sa.text("select * from mart.target_attainment")).all()
            conn.execute(sa.text("select * from mart.metric_value")).all()
        for statement in ("insert into mart.unit (unit_code) values ('X')",
                          "create table mart.intruder (x int)",
                          "create table public.intruder (x int)",
                          "create temp table intruder (x int)",
                          "select * from core.unit",
                          "select * from audit.submission",
                          "select * from raw.landed_file",
                          "insert into audit.alert (dedupe_key) values ('x')"):
            with reader.connect() as conn, pytest.raises(sa.exc.DBAPIError):
                conn.execute(sa.text(statement))
    finally:
        reader.dispose()
