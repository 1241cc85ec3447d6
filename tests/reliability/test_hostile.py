"""Hostile input: a corpus of bad, malformed, oversized and malicious files and paths in one landing zone.

Each case ends in a clear, recorded outcome (a rejected submission whose check names the file and, where it
applies, the row and column; or a skipped path with its reason; or, for injection-like text in free-text
columns, the exact text stored as data and nothing else); the run itself exits 0 with no traceback; good files
beside them load as usual and nothing else in the warehouse changes.

tests/flows/test_ingest.py already covers one broken rule per check, the basic unreadable files (empty, header
only, UTF-16, Windows-1258, garbage .xlsx, broken and wrong-shape JSON, truncated and over-long rows) and the
basic path refusals; this corpus adds the rest.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.feeds import DISB, DOSSIER, ods_repeat_bomb
from tests.reliability import tools

AS_OF = tools.AS_OF
TASKS = ["task_code", "unit_code", "title", "assigned_date", "due_date", "completed_date"]
INDICATOR = ["unit_code", "indicator_code", "period", "value"]
PAYLOADS = ["'); drop table core.unit; --", "<script>alert('x')</script>", "=cmd|' /C calc'!A0",
            "${jndi:ldap://127.0.0.1/a}", "{{7*7}} %s%n", "[bold red]rich[/] \x1b[2J\x1b[31mansi",
            "Robert'); DELETE FROM audit.submission; --", "\\x00 \\\\ \" ' `id`"]
PREVIOUS_FILE_CASES = 9 + 28 + 5   # FILE_LEVEL, BAD_FILES and the path test of tests/flows/test_ingest.py


@dataclass
class Case:
    """One hostile input: where it lands and what must become of it."""

    name: str
    rel: str                    # path under the inbox ("" for cases that are about a folder)
    outcome: str                # rejected | skipped | loaded
    check: str | None = None    # rejected: the failed check; skipped: a fragment of the reason
    column: str | None = None
    row: int | None = None
    fragment: str | None = None


# --- writers ---------------------------------------------------------------------------------------------


def _csv(rows: list[list], sep: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=sep, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _xlsx(rows: list[list], merge: str | None = None) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _patch_sheet(data: bytes, patch) -> bytes:
    """The workbook with its first sheet's XML rewritten by `patch`."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in src.infolist():
            body = src.read(info.filename)
            archive.writestr(info.filename, patch(body) if info.filename == "xl/worksheets/sheet1.xml" else body)
    return out.getvalue()


def _zip_bomb(megabytes: int = 450) -> bytes:
    """A valid zip whose sheet really inflates to `megabytes` of XML (about 2 MB on disk)."""
    good = zipfile.ZipFile(io.BytesIO(_xlsx([DOSSIER, ["TTPVHCC", "2026-01", 1, 1, 1, 1]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for info in good.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                archive.writestr(info.filename, good.read(info.filename))
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = b" " * (1 << 20)
            for _ in range(megabytes):
                sheet.write(chunk)
    return out.getvalue()


def _laughs(body: bytes) -> bytes:
    entities = '<!ENTITY a0 "lol">' + "".join(
        f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    start = body.index(b"<worksheet")
    return (b'<?xml version="1.0"?><!DOCTYPE worksheet [' + entities.encode() + b"]>"
            + body[start:].replace(b"<t>TTPVHCC</t>", b"<t>&a9;</t>", 1))


def _good_dossier(unit: str, period: str) -> bytes:
    return _csv([DOSSIER, [unit, period, 100, 80, 90, 85]])


def build_corpus(inbox: Path, outside: Path, big: bool = True) -> list[Case]:
    """Write every hostile input under `inbox`; return what each must become."""
    cases: list[Case] = []

    def put(case: Case, data: bytes, at: str | None = None) -> None:
        path = inbox / (at or case.rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        cases.append(case)

    u = "TTPVHCC"
    d = f"{u}/dossier"
    xlsx_ok = _xlsx([DOSSIER, [u, "2026-01", 1, 1, 1, 1]])

    # --- workbooks that expand, lie or break --------------------------------------------------------------
    put(Case("zip_bomb", f"{d}/zip_bomb.xlsx", "rejected", "file_size", fragment="expands to"), _zip_bomb())
    # a forged <dimension> and one cell at the last row: the sheet is read (6 columns x 1,048,576 rows is within
    # MAX_CELLS), the good row loads and the stray "1" at the bottom is set aside as an unfilled form row
    put(Case("dimension_bomb", f"{d}/dimension_bomb.xlsx", "loaded"),
        _patch_sheet(xlsx_ok, lambda b: re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD1048576"/>',
                                               b).replace(b"</sheetData>", b'<row r="1048576"><c r="A1048576">'
                                                          b'<v>1</v></c></row></sheetData>')))
    wide_rows = b"".join(b'<row r="%d"><c r="XFD%d"><v>1</v></c></row>' % (n, n) for n in range(3, 20_003))
    put(Case("wide_rows_bomb", f"{d}/wide_rows_bomb.xlsx", "rejected", "file_size", fragment="cells"),
        _patch_sheet(xlsx_ok, lambda b: b.replace(b"</sheetData>", wide_rows + b"</sheetData>")))
    # .ods states repetition instead of writing cells out: refused for its stated extent before calamine expands it
    # (which refused this one only at its own cap, as file_structure, after building 10^8 cells)
    put(Case("repeated_cells_bomb", f"{d}/repeated_cells_bomb.ods", "rejected", "file_size", fragment="cells"),
        ods_repeat_bomb([DOSSIER, [u, "2026-01", 1, 1, 1, 1]]))
    put(Case("billion_laughs", f"{d}/billion_laughs.xlsx", "rejected", "file_structure"),
        _patch_sheet(_xlsx([DOSSIER, [u, "2026-01", 1, 1, 1, 1]]), _laughs))
    put(Case("bad_cell_ref", f"{d}/bad_cell_ref.xlsx", "rejected", "file_structure"),
        _patch_sheet(xlsx_ok, lambda b: b.replace(b'r="A2"', b'r="ZZZZZZ2"')))
    put(Case("non_numeric_number_cell", f"{d}/non_numeric_number_cell.xlsx", "rejected", "file_structure"),
        _patch_sheet(xlsx_ok, lambda b: re.sub(rb'<c r="C2"([^>]*)><v>1</v>', rb'<c r="C2" t="n"><v>abc</v>', b)))
    # calamine hands an unreadable date cell on as its text: the cell is refused where it stands
    put(Case("bad_date_cell", f"{d}/bad_date_cell.xlsx", "rejected", "int_format", "received_total"),
        _patch_sheet(xlsx_ok, lambda b: re.sub(rb'<c r="C2"([^>]*)><v>1</v>', rb'<c r="C2" t="d"><v>soon</v>', b)))
    put(Case("malformed_sheet_xml", f"{d}/malformed_sheet_xml.xlsx", "rejected", "file_structure"),
        _patch_sheet(xlsx_ok, lambda b: b[: len(b) // 2]))
    put(Case("no_sheet", f"{d}/no_sheet.xlsx", "rejected", "file_structure"),
        _zip_without(xlsx_ok, "xl/worksheets/sheet1.xml"))
    put(Case("crc_corrupt", f"{d}/crc_corrupt.xlsx", "rejected", "file_structure"), _corrupt_crc(xlsx_ok))
    put(Case("json_is_a_zip", f"{d}/json_is_a_zip.json", "rejected", "file_encoding"), xlsx_ok)
    # formulas are never evaluated: a formula where a number belongs is no value
    put(Case("formula_cells", f"{d}/formula_cells.xlsx", "rejected", "value_required", "received_total", 2),
        _xlsx([DOSSIER, [u, "2026-01", "=1+1", "=HYPERLINK(\"http://127.0.0.1/x\",1)", "=cmd|' /C calc'!A0", 1]]))
    put(Case("formula_text_csv", f"{d}/formula_text.csv", "rejected", "int_format", "received_total", 2),
        _csv([DOSSIER, [u, "2026-01", "=1+1", "@SUM(A1)", "+1+1", "-1+1"]]))
    put(Case("merged_header", f"{d}/merged_header.xlsx", "rejected", "column_present", "period"),
        _xlsx([DOSSIER, [u, "2026-01", 1, 1, 1, 1]], merge="A1:B1"))
    put(Case("no_header_row", f"{d}/no_header_row.xlsx", "rejected", "column_present",
             fragment="no header row"), _xlsx([[u, "2026-01", 1, 1, 1, 1]] * 3))

    # --- text that is not what it says ---------------------------------------------------------------------
    put(Case("only_bom", f"{d}/only_bom.csv", "rejected", "file_not_empty"), b"\xef\xbb\xbf\n \n")
    put(Case("nul_bytes_late", f"{d}/nul_bytes_late.csv", "rejected", None),
        _good_dossier(u, "2026-01") + b"x" * 5000 + b"\x00\x00,1,1\n")
    put(Case("unterminated_quote", f"{d}/unterminated_quote.csv", "rejected", "file_structure"),
        b'unit_code,period,received_total,received_online,resolved_total,resolved_on_time\n'
        b'TTPVHCC,"2026-01,1,1,1,1\n')
    put(Case("duplicate_header", f"{d}/duplicate_header.csv", "rejected", "column_unique", "Kỳ báo cáo"),
        _csv([[*DOSSIER, "Kỳ báo cáo"], [u, "2026-01", 1, 1, 1, 1, "2026-02"]]))
    put(Case("huge_number_cell", f"{d}/huge_number_cell.csv", "rejected", "int_format", "received_total", 2),
        _csv([DOSSIER, [u, "2026-01", "9" * 5000, 1, 1, 1]]))
    put(Case("number_as_words", f"{d}/number_as_words.csv", "rejected", "int_format", "received_online", 2),
        _csv([DOSSIER, [u, "2026-01", 10, "mười", 1, 1]]))
    put(Case("bad_periods", f"{d}/bad_periods.csv", "rejected", "month_format", "period", 2),
        _csv([DOSSIER, [u, "2026-00", 1, 1, 1, 1], [u, "26-01", 1, 1, 1, 1], [u, "2026/1/1", 1, 1, 1, 1]]))
    put(Case("negatives", f"{d}/negatives.csv", "rejected", "non_negative", "received_total", 2),
        _csv([DOSSIER, [u, "2026-01", -5, 0, 1, 1]]))
    put(Case("accounting_negative", f"{d}/accounting_negative.csv", "rejected", "int_format", "resolved_total", 2),
        _csv([DOSSIER, [u, "2026-01", 5, 0, "(1)", 0]]))
    put(Case("future_period", f"{d}/future_period.csv", "rejected", "period_not_future", "period", 2),
        _csv([DOSSIER, [u, "2031-01", 5, 0, 1, 1]]))
    put(Case("nested_json_depth", f"{d}/nested_json_depth.json", "rejected", "file_structure"),
        b"[" * 100_000 + b"]" * 100_000)
    put(Case("json_giant_integer", f"{d}/json_giant_integer.json", "rejected", None),
        b'[{"unit_code": "TTPVHCC", "period": "2026-01", "received_total": ' + b"9" * 5000
        + b', "received_online": 1, "resolved_total": 1, "resolved_on_time": 1}]')
    put(Case("json_rows_not_objects", f"{d}/json_rows_not_objects.json", "rejected", "file_structure", row=1),
        json.dumps({"rows": [[u, "2026-01", 1, 1, 1, 1]]}).encode())
    put(Case("json_scalar", f"{d}/json_scalar.json", "rejected", "file_structure"), b'"rows"')
    put(Case("json_booleans", f"{d}/json_booleans.json", "rejected", "int_format", "received_total", 1),
        json.dumps([dict(zip(DOSSIER, [u, "2026-02", True, 1, 1, 1], strict=True))]).encode())
    put(Case("json_lone_surrogate", f"{d}/json_lone_surrogate.json", "rejected", None),
        b'[{"unit_code": "TTPVHCC\\ud800", "period": "2026-03", "received_total": 1, "received_online": 1,'
        b' "resolved_total": 1, "resolved_on_time": 1}]')
    t = "VP_UBND/tasks"
    put(Case("json_nul_in_text", f"{t}/json_nul_in_text.json", "rejected", "text_format", "title", 1),
        json.dumps([dict(zip(TASKS, ["NV-NUL", "VP_UBND", "a\u0000b", "2026-01-05", "2026-02-01", None],
                             strict=True))]).encode())
    put(Case("json_nul_in_code", f"{t}/json_nul_in_code.json", "rejected", "code_format", "unit_code", 1),
        json.dumps([dict(zip(TASKS, ["NV-NUL2", "VP_UBND\u0000", "a", "2026-01-05", "2026-02-01", None],
                             strict=True))]).encode())
    put(Case("huge_text_cell", f"{t}/huge_text_cell.csv", "rejected", "text_format", "title", 3),
        _csv([TASKS, ["NV-1", "VP_UBND", "ok", "2026-01-05", "2026-02-01", ""],
              ["NV-2", "VP_UBND", "x" * 3_000_000, "2026-01-05", "2026-02-01", ""]]))
    put(Case("duplicate_task_keys", f"{t}/duplicate_task_keys.csv", "rejected", "key_unique", "task_code", 2),
        _csv([TASKS, ["NV-9", "VP_UBND", "a", "2026-01-05", "2026-02-01", ""],
              ["NV-9", "VP_UBND", "b", "2026-01-06", "2026-02-01", ""]]))
    put(Case("impossible_dates", f"{t}/impossible_dates.csv", "rejected", "date_format", "assigned_date", 2),
        _csv([TASKS, ["NV-3", "VP_UBND", "a", "2026-02-30", "2026-03-01", ""],
              ["NV-4", "VP_UBND", "a", "0000-01-01", "2026-03-01", ""]]))
    put(Case("far_future_completion", f"{t}/far_future_completion.csv", "rejected", "completed_not_future",
             "completed_date", 2), _csv([TASKS, ["NV-5", "VP_UBND", "a", "2026-01-05", "2026-02-01", "9999-12-31"]]))
    x = "XA_CHILANG"
    put(Case("negative_disbursement", f"{x}/disbursement/negative.csv", "rejected", "non_negative", "disbursed_vnd",
             2), _csv([DISB, ["P-N", "n", x, "new", 100, -1, "2026-06-30"]]))
    put(Case("duplicate_projects", f"{x}/disbursement/duplicate_projects.csv", "rejected", "key_unique",
             "as_of_date", 2), _csv([DISB, ["P-D", "n", x, "new", 100, 1, "2026-06-30"],
                                       ["P-D", "n", x, "new", 100, 2, "2026-06-30"]]))
    put(Case("bad_quarter", f"{x}/indicator/bad_quarter.csv", "rejected", "period_format", "period", 2),
        _csv([INDICATOR, [x, "sown_area_ha", "2026-Q5", 1]]))
    put(Case("reports_for_another_json", f"{x}/indicator/for_another.json", "rejected", "unit_matches_folder",
             "unit_code", 1), json.dumps([dict(zip(INDICATOR, ["XA_DONGDANG", "sown_area_ha", "2026", 1],
                                                  strict=True))]).encode())

    # --- injection-like text: stored as data where text is allowed, refused where a code is expected -------
    put(Case("injection_in_text_columns", f"{t}/injection_text.csv", "loaded"),
        _csv([TASKS] + [[f"NV-INJ-{i}", "VP_UBND", p, "2026-01-05", "2026-02-01", ""] for i, p in
                        enumerate(PAYLOADS)]))
    put(Case("injection_in_project_text", f"{x}/disbursement/injection_text.json", "loaded"),
        json.dumps([dict(zip(DISB, [p, p, x, "new", 100, 1, "2026-06-30"], strict=True)) for p in PAYLOADS],
                   ensure_ascii=False).encode())
    put(Case("injection_in_unit_code", f"{d}/injection_unit.csv", "rejected", "unit_matches_folder", "unit_code", 2),
        _csv([DOSSIER] + [[p, f"2026-0{i + 1}", 1, 1, 1, 1] for i, p in enumerate(PAYLOADS)]))
    put(Case("injection_in_codes_and_period", f"{x}/indicator/injection_codes.csv", "rejected", "indicator_known",
             "indicator_code", 2), _csv([INDICATOR] + [[x, p, p, 1] for p in PAYLOADS]))
    put(Case("injection_in_headers", f"{d}/injection_headers.csv", "rejected", "column_present"),
        _csv([PAYLOADS[:6], [u, "2026-01", 1, 1, 1, 1]]))
    put(Case("injection_in_file_name", f"{d}/'); drop table core.unit; --.csv", "loaded"),
        _good_dossier(u, "2026-04"))
    put(Case("markup_in_file_name", f"{d}/[bold]x[red] <img src=x onerror=alert(1)> $(id).csv", "loaded"),
        _good_dossier(u, "2026-05"))
    put(Case("control_chars_in_file_name", f"{d}/line\nchitieu: all fine \x1b[2J.csv", "loaded"),
        _good_dossier(u, "2026-06"))
    put(Case("dots_in_file_name", f"{d}/..evil...csv", "skipped", "hidden or temporary file"),
        _good_dossier(u, "2026-07"))
    put(Case("dotdot_like_name", f"{d}/....csv", "skipped", "hidden or temporary file"),
        _good_dossier(u, "2026-07"))

    # --- paths that try to leave the inbox or claim another identity ------------------------------------------
    secret = outside / "secret.csv"
    secret.write_bytes(_good_dossier(u, "2026-08"))
    for rel, target in ((f"{d}/link_out.csv", secret), (f"{d}/link_passwd.csv", Path("/etc/passwd")),
                        ("XA_NASAM", outside), (f"{x}/tasks", outside)):
        path = inbox / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
    cases += [Case("symlink_file_out", f"{d}/link_out.csv", "skipped", "symlink"),
              Case("symlink_to_etc_passwd", f"{d}/link_passwd.csv", "skipped", "symlink"),
              Case("symlink_unit_folder", "XA_NASAM", "skipped", "symlink"),
              Case("symlink_feed_folder", f"{x}/tasks", "skipped", "symlink")]
    fifo = inbox / d / "pipe.csv"
    os.mkfifo(fifo)  # reading it would block forever
    cases.append(Case("fifo", f"{d}/pipe.csv", "skipped", "not a regular file"))
    (inbox / d / "folder.csv").mkdir()
    cases.append(Case("folder_named_csv", f"{d}/folder.csv", "skipped", "nested folder"))
    put(Case("dotdot_unit_folder", "..%2F..%2Fetc", "skipped", "unknown unit folder"),
        _good_dossier(u, "2026-09"), at="..%2F..%2Fetc/dossier/a.csv")
    put(Case("province_as_submitter", "LANGSON", "skipped", "unknown unit folder"),
        _good_dossier("LANGSON", "2026-09"), at="LANGSON/dossier/a.csv")
    put(Case("lowercase_unit_folder", "ttpvhcc", "skipped", "unknown unit folder"),
        _good_dossier(u, "2026-09"), at="ttpvhcc/dossier/a.csv")
    put(Case("unknown_feed_folder", f"{u}/Dossier", "skipped", "unknown feed folder"),
        _good_dossier(u, "2026-09"), at=f"{u}/Dossier/a.csv")
    put(Case("file_at_top", "README.csv", "skipped", "outside a <unit>/<feed>/ folder"), b"x")
    put(Case("long_file_name", f"{d}/{'n' * 240}.csv", "loaded"), _good_dossier(u, "2026-10"))

    # --- size -------------------------------------------------------------------------------------------------
    if big:
        path = inbox / d / "huge_200mb.csv"
        with path.open("wb") as fh:  # sparse: a header, then 200 MB of nothing, written in no time
            fh.write(b"unit_code,period,received_total,received_online,resolved_total,resolved_on_time\n")
            fh.truncate(200 * 2**20)
        cases.append(Case("file_200mb", f"{d}/huge_200mb.csv", "rejected", "file_size", fragment="over the"))
    return cases


def _zip_without(data: bytes, member: str) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in src.infolist():
            if info.filename != member:
                archive.writestr(info.filename, src.read(info.filename))
    return out.getvalue()


def _corrupt_crc(data: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for info in src.infolist():
            archive.writestr(info.filename, src.read(info.filename))
    raw = bytearray(out.getvalue())
    at = raw.index(b"TTPVHCC")
    raw[at] = ord("X")
    return bytes(raw)


def _good_files(inbox: Path) -> None:
    """Files that must load as usual beside the hostile ones, in every feed the corpus touches."""
    (inbox / "XA_DONGDANG" / "dossier").mkdir(parents=True)
    (inbox / "XA_DONGDANG" / "dossier" / "good.csv").write_bytes(_good_dossier("XA_DONGDANG", "2026-01"))
    (inbox / "XA_DONGDANG" / "tasks").mkdir(parents=True)
    (inbox / "XA_DONGDANG" / "tasks" / "good.csv").write_bytes(
        _csv([TASKS, ["NV-OK", "XA_DONGDANG", "Việc tốt", "2026-01-05", "2026-02-01", "2026-01-20"]]))
    (inbox / "XA_DONGDANG" / "disbursement").mkdir(parents=True)
    (inbox / "XA_DONGDANG" / "disbursement" / "good.csv").write_bytes(
        _csv([DISB, ["DA-OK", "Đường", "XA_DONGDANG", "new", 1000, 500, "2026-10-31"]]))
    (inbox / "XA_DONGDANG" / "indicator").mkdir(parents=True)
    (inbox / "XA_DONGDANG" / "indicator" / "good.csv").write_bytes(
        _csv([INDICATOR, ["XA_DONGDANG", "forest_cover_pct", "2026", "23,6"]]))


def _snapshot(engine: sa.Engine) -> dict:
    with engine.connect() as conn:
        return {table: conn.execute(sa.text(f"select md5(string_agg(t::text, '|' order by t::text)), count(*)"
                                            f" from {table} t")).one()
                for table in ("core.unit", "core.indicator", "core.target", "core.milestone")}


def check_outcomes(engine: sa.Engine, cases: list[Case]) -> list[str]:
    """What went wrong with each case, as one line per problem ([] if every case ended as it must)."""
    with engine.connect() as conn:
        subs = {r.file_name: r for r in conn.execute(sa.text("select * from mart.submission_log"))}
        checks: dict[str, list] = {}
        for r in conn.execute(sa.text("select s.file_name, c.expectation, c.column_name, c.failed_row_numbers,"
                                      " c.message from audit.check_result c join audit.submission s"
                                      " using (submission_id)")):
            checks.setdefault(r.file_name, []).append(r)
        skipped = dict(conn.execute(sa.text(
            "select rel_path, reason from raw.landed_file where disposition = 'skipped'")).all())
    problems = []
    for case in cases:
        if case.outcome == "skipped":
            reason = skipped.get(case.rel)
            if reason is None or case.check not in reason:
                problems.append(f"{case.name}: not skipped as {case.check!r} (got {reason!r}, "
                                f"submission {getattr(subs.get(case.rel), 'status', None)})")
            continue
        sub = subs.get(case.rel)
        if sub is None:
            problems.append(f"{case.name}: no submission for {case.rel!r}")
            continue
        if case.outcome == "loaded":
            if sub.status != "loaded":
                problems.append(f"{case.name}: {sub.status}, {[c.message for c in checks.get(case.rel, [])]}")
            continue
        if sub.status != "rejected":
            problems.append(f"{case.name}: {sub.status}, expected rejected")
            continue
        found = checks.get(case.rel, [])
        if not found or not all(case.rel in c.message or c.column_name for c in found):
            problems.append(f"{case.name}: no clear reason naming the file: {[c.message for c in found]}")
        if case.check is None:
            continue
        match = [c for c in found if c.expectation == case.check and case.column in (None, c.column_name)]
        if not match:
            problems.append(f"{case.name}: expected {case.check} in column {case.column}, got "
                            f"{[(c.expectation, c.column_name, c.message[:200]) for c in found]}")
            continue
        c = match[0]
        if case.row and case.row not in (c.failed_row_numbers or []):
            problems.append(f"{case.name}: rows {c.failed_row_numbers}, expected {case.row}")
        if case.fragment and case.fragment not in c.message:
            problems.append(f"{case.name}: {c.message!r} lacks {case.fragment!r}")
    return problems


def _check_injections(engine: sa.Engine) -> None:
    """Payloads in free text are stored byte for byte as data, and did nothing."""
    with engine.connect() as conn:
        titles = set(conn.scalars(sa.text("select title from core.fact_tasks where task_code like 'NV-INJ-%'")))
        names = set(conn.scalars(sa.text("select project_name from core.fact_disbursement where unit_code ="
                                         " 'XA_CHILANG'")))
        codes = set(conn.scalars(sa.text("select project_code from core.fact_disbursement where unit_code ="
                                         " 'XA_CHILANG'")))
        assert conn.scalar(sa.text("select count(*) from core.unit")) > 20
        assert conn.scalar(sa.text("select count(*) from audit.submission")) > 40
    assert titles == set(PAYLOADS) and names == set(PAYLOADS) and codes == set(PAYLOADS)


def _run(engine: sa.Engine) -> str:
    from typer.testing import CliRunner

    from apps.cli import app

    before = _snapshot(engine)
    result = CliRunner().invoke(app, ["run", "--as-of", AS_OF.isoformat()])
    output = result.output + (result.stderr if hasattr(result, "stderr") else "")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 0, output[-3000:]
    assert "Traceback" not in output
    assert _snapshot(engine) == before  # the catalog is untouched
    return output


def test_hostile_corpus_each_rejected_or_skipped_with_its_reason(env, engine, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    cases = build_corpus(env["inbox"], outside)
    _good_files(env["inbox"])
    assert len(cases) + PREVIOUS_FILE_CASES >= 30 and len(cases) >= 50
    output = _run(engine)
    problems = check_outcomes(engine, cases)
    assert not problems, "\n".join(problems)
    with engine.connect() as conn:  # the stray cell of the dimension bomb is set aside, by its row, for the reader
        set_aside = conn.scalars(sa.text(
            "select c.failed_row_numbers from audit.check_result c join audit.submission s using (submission_id)"
            " where s.file_name = 'TTPVHCC/dossier/dimension_bomb.xlsx' and c.severity = 'info'")).all()
    assert any(1_048_576 in (rows or []) for rows in set_aside), set_aside
    assert tools.violations(engine, after_recovery=True) == []  # no fact of a rejected file, nothing stuck
    _check_injections(engine)
    with engine.connect() as conn:
        good = dict(conn.execute(sa.text("select feed, status from mart.submission_log where unit_code ="
                                         " 'XA_DONGDANG'")).all())
    assert good == {"dossier": "loaded", "tasks": "loaded", "disbursement": "loaded", "indicator": "loaded"}
    # what is refused for its size is not copied to the archive either (a unit could fill the disk)
    archived = sum(p.stat().st_size for p in (env["home"] / "archive").rglob("*") if p.is_file())
    assert archived < 20 * 2**20, archived
    # the terminal gets no control sequence from a file name or a cell
    assert "\x1b" not in output
    assert not re.search(r"^chitieu: all fine", output, re.M)
    print(f"hostile inputs tried: {len(cases)} here + {PREVIOUS_FILE_CASES} in tests/flows/test_ingest.py")


@pytest.mark.slow
def test_hostile_corpus_through_the_console_script_twice(workspace, tmp_path):
    """The same corpus through the real `chitieu` process; a second pass changes nothing and still exits 0."""
    url, home, inbox, logs = workspace("hostile")
    outside = tmp_path / "outside"
    outside.mkdir()
    cases = build_corpus(inbox, outside)
    _good_files(inbox)
    env = tools.cli_env(home, inbox, url)
    first = tools.run_cli(["run", "--as-of", AS_OF.isoformat()], env, logs, "first")
    tools.assert_clean_exit(first, "first pass over the hostile corpus")
    engine = tools.check_engine(url)
    try:
        problems = check_outcomes(engine, cases)
        assert not problems, "\n".join(problems)
        _check_injections(engine)
        before = tools.figures(engine)
        second = tools.run_cli(["run", "--as-of", AS_OF.isoformat()], env, logs, "second")
        tools.assert_clean_exit(second, "second pass")
        assert tools.diff(before, tools.figures(engine)) == []
        report = tools.run_cli(["report"], env, logs, "report")
        tools.assert_clean_exit(report, "report")
        html = (home / "reports" / "report.html").read_text(encoding="utf-8")
        for payload in ("<script>", "<img src=x", "onerror="):
            assert payload not in html
    finally:
        engine.dispose()


@pytest.mark.parametrize("feed", ["dossier", "tasks"])
def test_oversized_file_is_refused_without_being_read(tmp_path, monkeypatch, feed):
    """The size check comes first: a 200 MB file is refused by parse_feed before a byte of it is read."""
    from chitieu.landing import LandedFile
    from tasks.parse import MAX_FILE_BYTES, parse_feed

    path = tmp_path / "huge.csv"
    with path.open("wb") as fh:
        fh.truncate(200 * 2**20)
    landed = LandedFile(path, f"X/{feed}/huge.csv", "X", feed, "0" * 64, path.stat().st_size,
                        dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert landed.size_bytes > MAX_FILE_BYTES

    def no_reading(*args, **kwargs):
        raise AssertionError("the oversized file was read")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    monkeypatch.setattr(Path, "open", no_reading)
    parsed = parse_feed.fn(feed, [landed])
    assert parsed.rejected[0].check == "file_size" and "200 MB" in str(parsed.rejected[0])
