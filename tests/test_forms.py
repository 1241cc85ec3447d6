"""`chitieu template` round trip: each feed's official form, filled as a clerk would, loads every row it was given
and sets aside every template row with its reason."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter

import openpyxl
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from chitieu.catalog import read_catalog
from chitieu.config import FEEDS, load_settings
from chitieu.forms import render_form
from chitieu.local_time import today as local_today
from flows.ingest import ingest

UNIT = "XA_CHILANG"
AS_OF = dt.date(2026, 6, 10)
_PERIOD_OF = {"month": "2026-05", "quarter": "2026-Q1", "year": "2026"}


def _values(feed: str, n: int, prefilled: dict, catalog) -> dict:
    """What the clerk types into the n-th data row (by Vietnamese label-free canonical name)."""
    if feed == "dossier":
        return {"period": "2026-05", "received_total": 10 + n, "received_online": 5, "resolved_total": 8,
                "resolved_on_time": 7}
    if feed == "admin_ops":
        return {"period": "2026-05", "documents_issued": 12, "conferences_in_person": 2, "conferences_online": 1}
    if feed == "disbursement":
        return {"project_code": f"DA_FORM_{n}", "project_name": f"Dự án {n}", "project_group": "chuyển tiếp",
                "capital_plan_vnd": 1_000_000 * n, "disbursed_vnd": 400_000 * n, "as_of_date": dt.date(2026, 5, 31)}
    if feed == "tasks":
        return {"task_code": f"NV_FORM_{n}", "title": f"Nhiệm vụ {n}", "assigned_date": dt.date(2026, 2, 1),
                "due_date": dt.date(2026, 6, 30)}
    periodicity = catalog.indicator(prefilled["indicator_code"])["periodicity"]
    return {"period": _PERIOD_OF[periodicity], "value": 10 + n}


def _fill(data: bytes, fmt: str, feed: str, catalog, rows_to_fill: int) -> tuple[bytes, int]:
    """The form with its first `rows_to_fill` data rows filled (all of them if fewer); bytes and rows filled."""
    from chitieu.feeds import feed_spec

    names = feed_spec(feed).names
    if fmt == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(data))
        sheet = book.active
        grid = [[c.value for c in row] for row in sheet.iter_rows()]
    else:
        grid = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    header_at = next(i for i, row in enumerate(grid) if row and row[0] == "STT")
    filled = 0
    for i in range(header_at + 2, len(grid)):
        if str(grid[i][0] or "").isdigit() and filled < rows_to_fill:
            prefilled = {name: grid[i][k + 1] for k, name in enumerate(names)}
            for name, value in _values(feed, filled + 1, prefilled, catalog).items():
                k = names.index(name) + 1
                if fmt == "xlsx":
                    sheet.cell(i + 1, k + 1, value)
                else:
                    grid[i][k] = value.strftime("%d/%m/%Y") if isinstance(value, dt.date) else str(value)
            filled += 1
    if fmt == "xlsx":
        out = io.BytesIO()
        book.save(out)
        return out.getvalue(), filled
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(grid)
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"), filled


def test_filled_forms_of_every_feed_load_every_row(env, engine):
    catalog = read_catalog(load_settings().catalog_dir)
    expected = {}
    for feed in FEEDS:
        for fmt in ("xlsx", "csv"):
            form = render_form(catalog, feed, unit_code=UNIT, fmt=fmt)
            # dossier and admin_ops: one row per month, so the CSV fills the xlsx's month again (a correction)
            data, filled = _fill(form, fmt, feed, catalog, rows_to_fill=2)
            assert filled >= 1
            folder = env["inbox"] / UNIT / feed
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"bieu_mau.{fmt}").write_bytes(data)
            expected[f"{UNIT}/{feed}/bieu_mau.{fmt}"] = filled
    summary = ingest(as_of=AS_OF)
    outcomes = {o.file_name: o for o in summary.outcomes}
    assert set(outcomes) == set(expected)
    with engine.connect() as conn:
        for name, outcome in outcomes.items():
            assert outcome.status == "loaded", (name, [f.message for f in outcome.failures])
            assert outcome.rows_total == expected[name], name
            info = Counter(r.expectation for r in conn.execute(sa.text(
                "select expectation from mart.data_quality where submission_id = :s and severity = 'info'"),
                {"s": outcome.submission_id}))
            assert {"set_aside_title", "set_aside_column_numbers", "set_aside_total",
                    "set_aside_below_table"} <= set(info), name


def test_template_command_writes_the_form(env, tmp_path):
    from apps.cli import app

    out = tmp_path / "mau.xlsx"
    result = CliRunner().invoke(app, ["template", "--feed", "dossier", "--unit", UNIT, "--out", str(out)])
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(out).active
    rows = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert rows[4][:3] == ["STT", "Mã đơn vị", "Kỳ báo cáo"]
    assert rows[5][:3] == ["(1)", "(2)", "(3)"]
    assert rows[6][1] == UNIT and rows[6][2] == local_today().strftime("%Y-%m")
    assert any(row[1] == "Tổng cộng" for row in rows)
    assert any("Người lập biểu" in [c for c in row if c] for row in rows)


@pytest.mark.parametrize("args", [["--feed", "weather"], ["--feed", "dossier", "--format", "pdf"],
                                  ["--feed", "dossier", "--unit", "NOT_A_UNIT"]])
def test_template_command_refuses_bad_arguments(env, tmp_path, args):
    from apps.cli import app

    result = CliRunner().invoke(app, ["template", *args, "--out", str(tmp_path / "x")])
    assert result.exit_code != 0
    assert not (tmp_path / "x").exists()
