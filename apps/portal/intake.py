"""Taking one upload: admission (feed, unit, size, workbook bounds), a safe name, an atomic landing in
<inbox>/<unit>/<feed>/, then the pass's own code (flows.upload) — or, for a dry run, its parse and suites only."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from chitieu.catalog import read_catalog
from chitieu.config import FEEDS, Settings
from chitieu.landing import ACCEPTED_EXTENSIONS as EXTENSIONS
from chitieu.runtime import command_line_run
from chitieu.spreadsheets import ods_extent

__all__ = ["Refused", "UploadLimits", "land_upload", "receive", "safe_name"]

_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")


class Refused(Exception):
    """An upload the portal cannot take: HTTP status, error code, and the reason in Vietnamese for the unit."""

    def __init__(self, status: int, error: str, message_vi: str):
        super().__init__(f"{status} {error}")
        self.status, self.error, self.message_vi = status, error, message_vi


@dataclass(frozen=True)
class UploadLimits:
    """Bounds on what one upload may be, checked before anything is parsed or written."""

    max_bytes: int = 20 * 2**20            # the file itself (HTTP 413 beyond)
    max_xlsx_expanded: int = 64 * 2**20    # a workbook's members, uncompressed (a zip bomb is refused unopened)
    max_rows: int = 50_000                 # rows of a workbook's sheets, counted by streaming their XML


def safe_name(raw: str | None, sha256: str, now: dt.datetime) -> str:
    """A landing name that cannot leave the folder or carry control characters: the last path component of the
    client's name, printable characters only, letters/digits/.-_ kept, prefixed with the time, a random tag and the
    content's hash (so two uploads never collide)."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if ch.isprintable())
    stem, ext = os.path.splitext(name)
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._-")[:80] or "tep"
    ext = re.sub(r"[^a-z0-9.]", "", ext.lower())
    # the time to the microsecond and a random tag: the same bytes sent twice in one second land as two files (the
    # second a duplicate), not as one file written twice
    return f"{now.strftime('%Y%m%dT%H%M%S%f')}_{secrets.token_hex(2)}_{sha256[:10]}_{stem}{ext}"


def _too_many_rows(limits: UploadLimits) -> Refused:
    return Refused(413, "too_many_rows",
                   f"Tệp có hơn {limits.max_rows:,} dòng; một lần gửi chỉ nhận tối đa "
                   f"{limits.max_rows:,} dòng, hãy chia nhỏ tệp.".replace(",", "."))


def check_workbook(data: bytes, limits: UploadLimits, ods: bool = False) -> None:
    """Refuse a workbook (.xlsx, or .ods with `ods`) whose members expand past the limit (a zip bomb) or whose
    sheets hold more rows than an upload may, before any cell is read: reading stops at each member's declared
    size, so memory stays bounded (an .ods sheet's rows are counted with their stated repetitions)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            expanded = sum(m.file_size for m in members)
            if expanded > limits.max_xlsx_expanded:
                raise Refused(413, "workbook_too_large",
                              f"Tệp bảng tính khi giải nén lớn {expanded // 2**20} MB, vượt giới hạn "
                              f"{limits.max_xlsx_expanded // 2**20} MB; hãy chia nhỏ tệp hoặc gửi CSV.")
            if ods:
                if sum(rows for rows, _ in ods_extent(archive).values()) > limits.max_rows:
                    raise _too_many_rows(limits)
                return
            rows = 0
            for member in members:
                if not (member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml")):
                    continue
                with archive.open(member) as fh:
                    tail = b""
                    while chunk := fh.read(1 << 20):
                        rows += len(_ROW_TAG.findall(tail + chunk))
                        tail = chunk[-16:]  # a tag across chunks may count twice: an upper bound
                        if rows > limits.max_rows:
                            raise _too_many_rows(limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError, KeyError, ValueError,
            ElementTree.ParseError):
        return  # not a readable workbook: the pipeline rejects it with its own reason (check file_structure)


def land_upload(inbox: Path, unit: str, feed: str, name: str, data: bytes) -> str:
    """Write the bytes into <inbox>/<unit>/<feed>/<name> atomically (a hidden temporary file in the same folder,
    flushed, then renamed): a pass never sees half a file. Returns the path relative to the inbox."""
    folder = inbox / unit / feed
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".upload-{secrets.token_hex(8)}.part"
    try:
        with temporary.open("xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, folder / name)
    finally:
        temporary.unlink(missing_ok=True)
    return f"{unit}/{feed}/{name}"


def receive(settings: Settings, unit: str, feed: str, file_name: str | None, data: bytes, *, dry_run: bool,
            as_of: dt.date, limits: UploadLimits) -> dict:
    """Admit an upload for `unit` (the caller may submit for it) and answer with the contract's JSON."""
    from apps.portal.results import dry_run_answer, submission_answer
    from chitieu.warehouse import get_engine
    from flows.upload import check_upload, ingest_upload, landed_upload

    if feed not in FEEDS:
        raise Refused(422, "unknown_feed", f"Loại báo cáo «{feed}» không tồn tại; chọn một trong: {', '.join(FEEDS)}.")
    if unit not in read_catalog(settings.catalog_dir).submitter_codes:  # never a path built from anything else
        raise Refused(422, "unknown_unit", f"«{unit[:40]}» không phải mã của một đơn vị gửi số liệu trong danh mục.")
    if len(data) > limits.max_bytes:
        raise Refused(413, "too_large", f"Tệp lớn hơn giới hạn {limits.max_bytes // 2**20} MB.")
    if not data:
        raise Refused(422, "no_file", "Chưa chọn tệp hoặc tệp rỗng.")
    now = dt.datetime.now(dt.UTC)
    name = safe_name(file_name, hashlib.sha256(data).hexdigest(), now)
    if os.path.splitext(name)[1].lower() not in EXTENSIONS:
        raise Refused(422, "file_format", f"Định dạng tệp không được nhận; hãy gửi tệp {', '.join(EXTENSIONS)}.")
    if name.endswith((".xlsx", ".ods")):
        check_workbook(data, limits, ods=name.endswith(".ods"))
    rel_path = f"{unit}/{feed}/{name}"
    if dry_run:
        landed = landed_upload(settings.inbox, rel_path, data)
        verdict, earlier = check_upload(settings, landed, data, as_of)
        return dry_run_answer(landed, verdict, earlier)
    land_upload(settings.inbox, unit, feed, name, data)
    with command_line_run():
        submission_id = ingest_upload(rel_path, as_of)
    return submission_answer(get_engine(settings), submission_id)
