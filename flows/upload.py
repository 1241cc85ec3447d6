"""Flow: ingest exactly one file a unit uploaded into its landing folder, by the pass's own tasks.

The portal (apps/portal) lands an upload atomically in <inbox>/<unit>/<feed>/ and calls `ingest_upload`: the
file is classified, archived, parsed, validated, loaded (under the load's unit lock: a folder pass taking the same
file at the same moment leaves one submission), derived and alerted on exactly as `flows.ingest` would, so when it
returns the file is current (or rejected). `check_upload` is the dry run: parse and the suites, nothing stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from pathlib import Path

import sqlalchemy as sa
from prefect import flow, runtime
from prefect.utilities.annotations import quote

from chitieu.catalog import read_catalog
from chitieu.config import Settings, load_settings
from chitieu.landing import LandedFile
from chitieu.local_time import today
from chitieu.records import ACCEPTED
from chitieu.runs import finish_run, record_landing, release_leases, start_run
from chitieu.warehouse import get_engine
from tasks.alerts import send_alerts
from tasks.archive import archive_files
from tasks.data_docs import build_data_docs
from tasks.derive import derive_metrics
from tasks.discover import classify_files

__all__ = ["check_upload", "ingest_upload", "landed_upload"]

# Great Expectations' context is one per process (tasks.validate): the portal's request threads run its suites one
# at a time; loading and deriving (in PostgreSQL) overlap freely.
_SUITES = threading.Lock()


def landed_upload(inbox: Path, rel_path: str, data: bytes | None = None) -> LandedFile:
    """The LandedFile of <inbox>/<rel_path> as discovery would see it (hashed, stamped with its modification time);
    with `data`, of those bytes, not (yet) written."""
    unit, feed, _ = rel_path.split("/", 2)
    path = inbox / rel_path
    if data is None:
        with path.open("rb") as fh:
            sha = hashlib.file_digest(fh, "sha256").hexdigest()
        stat = path.stat()
        size, received_at = stat.st_size, dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC)
    else:
        sha, size, received_at = hashlib.sha256(data).hexdigest(), len(data), dt.datetime.now(dt.UTC)
    return LandedFile(path=path, rel_path=rel_path, unit_code=unit, feed=feed, sha256=sha, size_bytes=size,
                      received_at=received_at)


def _parse_and_validate(settings: Settings, feed: str, files: list[LandedFile], catalog, as_of: dt.date,
                        contents: list | None = None, *, as_tasks: bool = True):
    from tasks.parse import parse_feed
    from tasks.validate import validate_feed

    with _SUITES:
        if as_tasks:
            parsed = parse_feed(feed, quote(files), quote(contents))
            return parsed, validate_feed(quote(parsed), quote(catalog), as_of, settings)
        parsed = parse_feed.fn(feed, files, contents)
        return parsed, validate_feed.fn(parsed, catalog, as_of, settings)


def _submission_of(engine: sa.Engine, landed: LandedFile) -> int | None:
    """The submission that holds this content for the unit and feed (taken by a concurrent pass, or seen before)."""
    with engine.connect() as conn:
        return conn.scalar(sa.text(
            "select submission_id from audit.submission where unit_code = :u and feed = :f and sha256 = :s"
            " order by (status = 'duplicate' and file_name = :n) desc, (status <> 'duplicate') desc,"
            " submission_id limit 1"),
            {"u": landed.unit_code, "f": landed.feed, "s": landed.sha256, "n": landed.rel_path})


@flow(name="ingest-upload", on_failure=[release_leases], on_crashed=[release_leases])
def ingest_upload(rel_path: str, as_of: dt.date | None = None) -> int | None:
    """Ingest one landed file <unit>/<feed>/<name> of the inbox; return its submission id."""
    settings = load_settings()
    as_of = as_of or today()
    catalog = read_catalog(settings.catalog_dir)
    engine = get_engine(settings)
    landed = landed_upload(settings.inbox, rel_path)
    run_id = start_run(engine, f"upload {rel_path}", as_of, str(settings.inbox), str(runtime.flow_run.id or ""))

    # --- classify (new, duplicate of earlier content, or already taken by a pass) ----
    discovery = classify_files(settings, quote([landed]), quote([]))
    record_landing(engine, [(f, "submitted") for f in discovery.new]
                   + [(f, "duplicate") for f, _ in discovery.duplicates], [])

    # --- archive, parse, validate, load ------------------------------------------------
    outcomes = []
    if discovery.new:
        from tasks.load import load_submissions

        archiving = archive_files.submit(settings, quote(discovery.new))
        parsed, verdicts = _parse_and_validate(settings, landed.feed, discovery.new, catalog, as_of)
        outcomes = load_submissions(settings, quote(parsed), quote(verdicts), run_id, archiving)
    elif discovery.duplicates:
        from tasks.load import record_duplicates

        outcomes = record_duplicates(settings, quote(discovery.duplicates), run_id)

    # --- derive, alerts, Data Docs (as a pass does) --------------------------------------
    submission_id = next((o.submission_id for o in outcomes if o.submission_id), None) \
        or _submission_of(engine, landed)  # a concurrent pass claimed the content first
    dirty = {(o.unit_code, o.feed) for o in outcomes if o.status in ACCEPTED}
    if not outcomes and submission_id is not None:
        dirty = {(landed.unit_code, landed.feed)}  # current once the claiming pass's rows are: derive them now
    derive = derive_metrics(settings, quote(dirty), as_of) if dirty else {}
    submitted = [o.submission_id for o in outcomes if o.submission_id]
    alerts = send_alerts(settings, quote(submitted)) if submitted else {}
    build_data_docs(settings, quote(submitted))
    finish_run(engine, run_id, {"counts": {o.status: 1 for o in outcomes}, "derive": derive, "alerts": alerts,
                                "submission_id": submission_id})
    return submission_id


def check_upload(settings: Settings, landed: LandedFile, data: bytes, as_of: dt.date):
    """Dry run: the verdict parse and the suites give `data` as `landed`'s content, and whether the unit sent those
    bytes before (its submission id, else None). Reads the warehouse, writes nothing."""
    catalog = read_catalog(settings.catalog_dir)
    known = classify_files.fn(settings, [landed], [])
    earlier = None if known.new else _submission_of(get_engine(settings), landed)
    parsed, verdicts = _parse_and_validate(settings, landed.feed, [landed], catalog, as_of, [data], as_tasks=False)
    return verdicts[0], earlier
