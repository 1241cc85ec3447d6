"""Writers of real feed files (CSV, XLSX via openpyxl, JSON) into a test inbox."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

from chitieu.feeds import feed_spec
from chitieu.landing import LandedFile

__all__ = ["DISB", "DOSSIER", "labels", "landed", "ods_repeat_bomb", "write_csv", "write_json", "write_xlsx"]

# Canonical column names of the feeds most tests write (the dossier feed without its satisfaction survey).
DOSSIER = ["unit_code", "period", "received_total", "received_online", "resolved_total", "resolved_on_time"]
DISB = ["project_code", "project_name", "unit_code", "project_group", "capital_plan_vnd", "disbursed_vnd",
        "as_of_date"]


def labels(feed: str, columns: list[str]) -> list[str]:
    """Vietnamese labels of the given columns."""
    spec = feed_spec(feed)
    return [spec.label(c) for c in columns]


def _target(inbox: Path, unit: str, feed: str, name: str) -> Path:
    folder = inbox / unit / feed
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def _stamp(path: Path, landed_at: dt.datetime | None) -> Path:
    if landed_at is not None:
        ts = landed_at.timestamp()
        os.utime(path, (ts, ts))
    return path


def write_csv(inbox: Path, unit: str, feed: str, name: str, header: list[str], rows: list[list],
              *, sep: str = ",", bom: bool = False, vietnamese: bool = False,
              landed_at: dt.datetime | None = None, encoding: str = "utf-8") -> Path:
    """A CSV file; `vietnamese` writes the Vietnamese labels as headers."""
    path = _target(inbox, unit, feed, name)
    head = labels(feed, header) if vietnamese else header
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\n")
    writer.writerow(head)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    data = buffer.getvalue().encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return _stamp(path, landed_at)


def write_xlsx(inbox: Path, unit: str, feed: str, name: str, header: list[str], rows: list[list],
               *, title_rows: list[str] = (), vietnamese: bool = True,
               landed_at: dt.datetime | None = None) -> Path:
    """An Excel workbook with optional title rows above the header, as units export them."""
    import openpyxl

    path = _target(inbox, unit, feed, name)
    book = openpyxl.Workbook()
    sheet = book.active
    for title in title_rows:
        sheet.append([title])
    sheet.append(labels(feed, header) if vietnamese else header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return _stamp(path, landed_at)


def write_json(inbox: Path, unit: str, feed: str, name: str, records: list[dict] | dict,
               *, landed_at: dt.datetime | None = None) -> Path:
    path = _target(inbox, unit, feed, name)
    path.write_text(json.dumps(records, ensure_ascii=False, default=str), encoding="utf-8")
    return _stamp(path, landed_at)


def landed(path: Path) -> LandedFile:
    """A file written by the writers above (<inbox>/<unit>/<feed>/<name>) as discovery would hand it on."""
    data = path.read_bytes()
    unit, feed = path.parent.parent.name, path.parent.name
    return LandedFile(path, f"{unit}/{feed}/{path.name}", unit, feed, hashlib.sha256(data).hexdigest(), len(data),
                      dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC))


def ods_repeat_bomb(rows: list[list], repeated_rows: int = 100_000, repeated_columns: int = 1_001,
                    filled: bool = True) -> bytes:
    """A ~1 KB .ods of `rows` (text cells) whose last row states one cell repeated over `repeated_rows` x
    `repeated_columns`: by default 100.1 million filled cells, just past the 10^8 that calamine expands into its
    dense grid before refusing (20 million took it 1.2 GB and 3.6 s here); with `filled` false, an empty cell, as
    LibreOffice writes one to the sheet's end."""
    def cell(value) -> str:
        return f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>'

    body = "".join(f"<table:table-row>{''.join(cell(v) for v in row)}</table:table-row>" for row in rows)
    value = ' office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell>' if filled else "/>"
    body += (f'<table:table-row table:number-rows-repeated="{repeated_rows}"><table:table-cell '
             f'table:number-columns-repeated="{repeated_columns}"{value}</table:table-row>')
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content'
               ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
               ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
               ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body>'
               f'<office:spreadsheet><table:table table:name="Sheet1">{body}</table:table></office:spreadsheet>'
               "</office:body></office:document-content>")
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest'
                ' xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/"'
                ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                "</manifest:manifest>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet",
                         compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return out.getvalue()
