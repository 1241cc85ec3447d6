"""`chitieu publish`: the open-data package on the demo warehouse — valid, faithful, deterministic, and precise."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from frictionless import Resource, Schema

from chitieu.feeds import feed_spec
from chitieu.open_data import RESOURCES
from tests.conftest import fresh_database, point_chitieu_at
from tests.feeds import write_csv

AS_OF = dt.date(2026, 3, 20)
FRICTIONLESS = Path(sys.executable).parent / "frictionless"
CONTRACT_COLUMNS = {
    "metric_value": {"metric_code", "unit_code", "period", "scope", "numerator", "denominator", "value",
                     "is_approved"},
    "target_attainment": {"target_code", "metric_code", "unit_code", "year", "comparator", "target_value",
                          "actual_value", "as_of_period", "status", "source_doc", "source_clause"},
    "disbursement_progress": {"project_code", "unit_code", "project_group", "as_of_date", "capital_plan_vnd",
                              "disbursed_vnd", "progress_pct", "milestone_date", "milestone_pct", "status"},
    "reporting_rate": {"unit_code", "feed", "period", "due_date", "received", "on_time", "is_approved"},
    "metric": {"metric_code", "name_vi", "name_en", "unit_of_measure", "direction"},
    "unit": {"unit_code", "name_vi", "name_en", "level", "parent_code"},
}


@pytest.fixture(scope="module")
def demo_env(server_url, template_url, tmp_path_factory):
    """The demo's warehouse (two passes with problems and a correction), built once for this module."""
    from flows.demo import demo

    root = tmp_path_factory.mktemp("publish")
    with fresh_database(server_url, template_url, prefix="pub") as url, pytest.MonkeyPatch.context() as patch:
        paths = point_chitieu_at(patch, root, url)
        home, inbox = paths["home"], paths["inbox"]
        demo(as_of=AS_OF, seed=7)
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        yield {"home": home, "inbox": inbox, "engine": engine, "root": root}
        engine.dispose()


def _publish(out: Path) -> dict:
    from flows.publish_open_data import publish_open_data

    return publish_open_data(out=str(out))


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _csv_rows(folder: Path, name: str) -> tuple[list[str], list[dict]]:
    """The CSV read back with its published schema (typed values)."""
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    [descriptor] = [r for r in package["resources"] if r["name"] == name]
    schema = {k: v for k, v in descriptor["schema"].items() if k != "foreignKeys"}  # checked by validate
    resource = Resource(path=f"{name}.csv", basepath=str(folder), schema=Schema.from_descriptor(schema))
    with resource:
        rows = [row.to_dict() for row in resource.row_stream]
        header = resource.header
    return list(header), rows


def _view_rows(conn: sa.Connection, name: str, columns: list[str]) -> list[dict]:
    """The mart view (or, for `metric` without mart.metric, the catalog) with the published columns."""
    spec = next(s for s in RESOURCES if s.name == name)
    relation = spec.relation
    if conn.scalar(sa.text("select to_regclass(:r)"), {"r": relation}) is None:
        assert name == "metric"
        relation = "(select indicator_code as metric_code, * from core.indicator) m"
    rows = [dict(r) for r in conn.execute(sa.text(f"select * from {relation}")).mappings()]
    out = []
    for row in rows:
        row.setdefault("is_approved", False)
        out.append({c: ((" ".join(row[c]) or None) if isinstance(row[c], list) else row[c]) for c in columns})
    return sorted(out, key=lambda r: tuple(r[k] for k in spec.primary_key))


def test_package_validates_with_the_frictionless_tool_and_describes_itself(demo_env):
    out = demo_env["root"] / "first"
    result = _publish(out)
    check = subprocess.run([str(FRICTIONLESS), "validate", "datapackage.json"], cwd=out, capture_output=True,
                           text=True, timeout=600)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "VALID" in check.stdout

    names = {s.name for s in RESOURCES}
    assert set(_files(out)) == {f"{n}.{ext}" for n in names for ext in ("csv", "parquet")} | {
        "datapackage.json", "dcat.jsonld"}
    assert result["as_of"] == AS_OF.isoformat()
    package = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    assert package["licenses"][0]["name"] == "CC-BY-4.0"
    assert "Tỉnh Lạng Sơn" in package["title"] and "2026" in package["title"]
    with demo_env["engine"].connect() as conn:
        cited = set(conn.scalars(sa.text("select source_doc from core.target union select source_doc "
                                         "from core.milestone")))
        comments = dict(conn.execute(sa.text(
            "select c.relname, obj_description(c.oid, 'pg_class') from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'mart'")).all())
        value_comment = conn.scalar(sa.text(
            "select col_description('mart.metric_value'::regclass, attnum) from pg_attribute "
            "where attrelid = 'mart.metric_value'::regclass and attname = 'value'"))
    assert {s["title"] for s in package["sources"]} == cited
    tables = {r["name"]: r for r in package["resources"] if r.get("type") == "table"}
    assert set(tables) == names
    for name, resource in tables.items():
        fields = {f["name"]: f for f in resource["schema"]["fields"]}
        assert CONTRACT_COLUMNS[name] <= set(fields), name
        assert resource["schema"]["primaryKey"] == list(next(s for s in RESOURCES if s.name == name).primary_key)
        assert resource["hash"].startswith("sha256:") and resource["rows"] >= 1
        assert all(f["title"] != f["name"] for f in fields.values()), name  # every column has a Vietnamese title
        if name in comments:
            assert resource["description"] == comments[name]  # generated from the view's COMMENT
    value = {f["name"]: f for f in tables["metric_value"]["schema"]["fields"]}["value"]
    assert value["title"] == "Giá trị" and value["type"] == "number"
    assert value.get("description") == value_comment
    assert {f["name"]: f for f in tables["disbursement_progress"]["schema"]["fields"]}["disbursed_vnd"][
        "unit"] == "VND"
    assert "derived_at" not in {f["name"] for f in tables["metric_value"]["schema"]["fields"]}

    dcat = json.loads((out / "dcat.jsonld").read_text(encoding="utf-8"))
    assert dcat["@type"] == "dcat:Catalog"
    assert {t["@language"] for t in dcat["dct:title"]} == {"vi", "en"}
    assert dcat["dct:publisher"]["foaf:name"][0]["@value"] == "Tỉnh Lạng Sơn"
    assert dcat["dct:issued"]["@value"] == dcat["dct:modified"]["@value"] == AS_OF.isoformat()
    distributions = [d for ds in dcat["dcat:dataset"] for d in ds["dcat:distribution"]]
    assert {d["dcat:downloadURL"]["@id"] for d in distributions} == set(_files(out)) - {
        "datapackage.json", "dcat.jsonld"}
    for d in distributions:
        assert d["spdx:checksum"]["spdx:checksumValue"] == next(
            f["sha256"] for f in result["files"] if f["file"] == d["dcat:downloadURL"]["@id"])
    assert {d["dcat:mediaType"]["@id"].rsplit("/", 2)[-2] + "/" + d["dcat:mediaType"]["@id"].rsplit("/", 1)[-1]
            for d in distributions} == {"text/csv", "application/vnd.apache.parquet"}


def test_every_csv_and_parquet_reads_back_as_the_mart_view(demo_env):
    out = demo_env["root"] / "readback"
    _publish(out)
    with demo_env["engine"].connect() as conn:
        for spec in RESOURCES:
            header, from_csv = _csv_rows(out, spec.name)
            expected = _view_rows(conn, spec.name, header)
            assert from_csv == expected, spec.name
            parquet = pq.read_table(out / f"{spec.name}.parquet")
            assert parquet.column_names == header
            assert parquet.to_pylist() == expected, spec.name
            assert len(expected) > 0, spec.name
    approved = {r["is_approved"] for r in _csv_rows(out, "metric_value")[1]}
    assert approved == {False}  # the column is present; nothing is approved in the demo
    assert any(isinstance(v, Decimal) for r in _csv_rows(out, "metric_value")[1] for v in r.values())


def test_republishing_unchanged_data_gives_identical_bytes(demo_env):
    first, second = demo_env["root"] / "same-a", demo_env["root"] / "same-b"
    _publish(first)
    again = _publish(second)
    assert _files(first) == _files(second)
    assert not any(f["changed"] for f in again["files"])
    for name in _files(first):
        if name.endswith(".parquet"):
            metadata = pq.ParquetFile(first / name).metadata
            assert set(metadata.metadata) == {b"ARROW:schema", b"resource"}  # no creation time anywhere
    with demo_env["engine"].connect() as conn:
        recorded = conn.execute(sa.text(
            "select file_name, sha256, row_count from audit.open_data_publication where out_dir = :d"),
            {"d": str(second)}).all()
    assert {r.file_name for r in recorded} == set(_files(second))
    assert {r.file_name: r.sha256 for r in recorded} == {f["file"]: f["sha256"] for f in again["files"]}


def test_a_correction_changes_exactly_the_affected_rows(demo_env):
    from flows.ingest import ingest

    before, after = demo_env["root"] / "before", demo_env["root"] / "after"
    _publish(before)
    with demo_env["engine"].connect() as conn:
        row = conn.execute(sa.text(
            "select * from core.current_dossier where unit_code = 'XA_CHILANG' order by period limit 1"
        )).mappings().one()
        units = dict(conn.execute(sa.text("select unit_code, parent_code from mart.unit")).all())
        dossier_metrics = set(conn.scalars(sa.text(
            "select metric_code from core.metric_definition where feed = 'dossier'")))
    unit, period = row["unit_code"], row["period"]
    corrected = dict(row, received_online=row["received_online"] - 1)
    columns = feed_spec("dossier").names
    write_csv(demo_env["inbox"], unit, "dossier", f"{period}_dinh_chinh.csv", columns,
              [[corrected[c] for c in columns]],
              landed_at=dt.datetime.combine(AS_OF, dt.time(9), tzinfo=dt.timezone(dt.timedelta(hours=7))))
    ingest(as_of=AS_OF)
    result = _publish(after)

    affected_units, code = {unit}, unit
    while units.get(code):
        code = units[code]
        affected_units.add(code)
    changes = {}
    for spec in RESOURCES:
        old = {tuple(r[k] for k in spec.primary_key): r for r in _csv_rows(before, spec.name)[1]}
        new = {tuple(r[k] for k in spec.primary_key): r for r in _csv_rows(after, spec.name)[1]}
        assert set(old) == set(new), spec.name
        changes[spec.name] = {k for k in new if new[k] != old[k]}

    changed_metrics = changes["metric_value"]
    assert (("online_dossier_rate", unit, period, "month") in changed_metrics
            and ("online_dossier_rate", unit, period, "ytd") in changed_metrics)
    for metric, who, when, _scope in changed_metrics:
        assert metric in dossier_metrics and who in affected_units and when >= period, (metric, who, when)
    targets = {r["target_code"]: r for r in _csv_rows(after, "target_attainment")[1]}
    for code in changes["target_attainment"]:
        assert targets[code]["metric_code"] in dossier_metrics and targets[code]["unit_code"] in affected_units
    for name in ("disbursement_progress", "reporting_rate", "metric", "unit"):
        assert not changes[name], name
    flagged = {f["file"] for f in result["files"] if f["changed"]}
    assert {"metric_value.csv", "metric_value.parquet", "datapackage.json", "dcat.jsonld"} <= flagged
    assert not flagged & {"unit.csv", "unit.parquet", "metric.csv", "disbursement_progress.csv"}


# --- a small warehouse: what the views hold at run time is what is published ---------------------------------


def _small_warehouse(env) -> None:
    from flows.ingest import ingest

    write_csv(env["inbox"], "TTPVHCC", "dossier", "t01.csv", ["unit_code", "period", "received_total",
              "received_online", "resolved_total", "resolved_on_time"], [["TTPVHCC", "2026-01", 100, 90, 80, 79]])
    ingest(as_of=dt.date(2026, 2, 10))


def test_publishing_before_any_data_is_a_clear_error(env):
    from chitieu.errors import ChitieuError

    with pytest.raises(ChitieuError, match="nothing to publish yet"):
        _publish(env["home"] / "od")
    assert not (env["home"] / "od" / "datapackage.json").exists()


def test_columns_comments_and_views_added_later_are_published_from_the_warehouse(env, engine):
    from chitieu.approval import approve, reopen

    _small_warehouse(env)
    with engine.begin() as conn:
        approve(conn, "TTPVHCC", "dossier", "2026-01", "reviewer")
        # a column, comments and a province name changed after this code was written: published as they now are
        conn.exec_driver_sql(
            "comment on column mart.metric_value.value is 'The value, in the unit of measure of its metric.';"
            "alter view mart.metric rename to metric_before;"
            "create view mart.metric as select b.*, upper(b.name_en) as name_en_upper from mart.metric_before b;"
            "comment on view mart.metric is 'One row per metric (the warehouse''s own view).';"
            "update core.unit set name_vi = 'Tỉnh Thử Nghiệm', name_en = 'Test Province' where level = 'province'")
    out = env["home"] / "opendata"  # the default folder
    from flows.publish_open_data import publish_open_data

    result = publish_open_data()
    assert Path(result["folder"]) == out and not result["notes"]
    check = subprocess.run([str(FRICTIONLESS), "validate", "datapackage.json"], cwd=out, capture_output=True,
                           text=True, timeout=600)
    assert check.returncode == 0, check.stdout + check.stderr

    package = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    tables = {r["name"]: r for r in package["resources"]}
    value = next(f for f in tables["metric_value"]["schema"]["fields"] if f["name"] == "value")
    assert value["description"] == "The value, in the unit of measure of its metric."
    assert tables["metric"]["description"] == "One row per metric (the warehouse's own view)."
    assert "derived from the catalog" not in package["description"]
    metric_fields = [f["name"] for f in tables["metric"]["schema"]["fields"]]
    assert metric_fields[:2] == ["metric_code", "name_vi"] and metric_fields[-1] == "name_en_upper"
    assert all(r["name_en_upper"] == r["name_en"].upper() for r in _csv_rows(out, "metric")[1])
    rows = [r for r in _csv_rows(out, "metric_value")[1] if r["unit_code"] == "TTPVHCC"]
    assert rows and all(r["is_approved"] for r in rows)
    approved = {(r["unit_code"], r["feed"], r["period"]) for r in _csv_rows(out, "reporting_rate")[1]
                if r["is_approved"]}
    assert approved == {("TTPVHCC", "dossier", "2026-01")}
    assert package["title"].endswith("Tỉnh Thử Nghiệm") and package["name"].endswith("-2026")
    dcat = json.loads((out / "dcat.jsonld").read_text(encoding="utf-8"))
    assert [n["@value"] for n in dcat["dct:publisher"]["foaf:name"]] == ["Tỉnh Thử Nghiệm", "Test Province"]
    assert dcat["dct:modified"]["@value"] == "2026-02-10"

    with engine.begin() as conn:
        reopen(conn, "TTPVHCC", "dossier", "2026-01", "reviewer", "sai số liệu")
    publish_open_data()
    assert not any(r["is_approved"] for r in _csv_rows(out, "metric_value")[1])
    assert not any(r["is_approved"] for r in _csv_rows(out, "reporting_rate")[1])


def test_the_command_lists_what_changed_since_the_last_publication(env):
    from typer.testing import CliRunner

    from apps.cli import app

    _small_warehouse(env)
    out = env["home"] / "portal"
    first = CliRunner().invoke(app, ["publish", "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert f"package: {out} (data as of 2026-02-10)" in first.output
    assert first.output.count("\nchanged ") == 14 and "unchanged" not in first.output
    assert "note:" not in first.output  # every published relation exists in the warehouse

    again = CliRunner().invoke(app, ["publish", "--out", str(out), "--changed-only"])
    assert again.exit_code == 0, again.output
    assert "changed" not in again.output.replace("package:", "")
    everything = CliRunner().invoke(app, ["publish", "--out", str(out)])
    assert everything.output.count("\nunchanged ") == 14
