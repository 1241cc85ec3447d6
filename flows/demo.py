"""Flow: generate realistic sample feeds for the catalog, ingest them in two passes, write the report."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path

import sqlalchemy as sa
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from chitieu.catalog import read_catalog
from chitieu.config import DEMO_AS_OF, DEMO_SEED, Settings, load_settings
from chitieu.demo_feeds import DemoFile, build_feeds, write_feeds
from chitieu.errors import ConfigError
from chitieu.warehouse import get_engine
from flows.ingest import ingest
from flows.init_warehouse import init_warehouse
from flows.report import report

__all__ = ["demo"]

DEFAULT_AS_OF = DEMO_AS_OF
_MANIFEST = "demo_inbox.json"


def _inbox_files(inbox: Path) -> set[str]:
    return {p.relative_to(inbox).as_posix() for p in inbox.rglob("*") if p.is_file() or p.is_symlink()}


@task(name="reset_demo_inbox", cache_policy=NO_CACHE)
def reset_demo_inbox(settings: Settings) -> Path:
    """Empty the inbox of a previous demo's files; refuse to touch an inbox holding anything else."""
    inbox, manifest = settings.inbox, settings.home / _MANIFEST
    inbox.mkdir(parents=True, exist_ok=True)
    ours = set(json.loads(manifest.read_text(encoding="utf-8"))) if manifest.exists() else set()
    foreign = sorted(_inbox_files(inbox) - ours)
    if foreign:
        raise ConfigError(f"the inbox {inbox} holds files the demo did not write (e.g. {foreign[0]}); "
                          "point CHITIEU_INBOX at an empty folder to run the demo")
    for unit_dir in [p for p in inbox.iterdir() if p.is_dir() and not p.is_symlink()]:
        shutil.rmtree(unit_dir)
    return inbox


@task(name="write_demo_feeds", cache_policy=NO_CACHE)
def write_demo_feeds(settings: Settings, files: list[DemoFile], wave: int) -> int:
    """Drop one wave of demo files into the inbox and remember them; return how many were written."""
    written = write_feeds(files, settings.inbox, wave)
    manifest = settings.home / _MANIFEST
    settings.home.mkdir(parents=True, exist_ok=True)
    known = set(json.loads(manifest.read_text(encoding="utf-8"))) if manifest.exists() else set()
    known |= {p.relative_to(settings.inbox).as_posix() for p in written}
    manifest.write_text(json.dumps(sorted(known), ensure_ascii=False, indent=0), encoding="utf-8")
    return len(written)


def _public_url(url: sa.URL) -> str:
    """The warehouse URL for psql, without any password."""
    return sa.URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                         database=url.database, query=url.query).render_as_string(hide_password=False)


def _warehouse_summary(settings: Settings) -> dict[str, str]:
    """Submission and target counts from the mart, as one line each."""
    with get_engine(settings).connect() as conn:
        statuses = dict(conn.execute(sa.text(
            "select status, count(*) from mart.submission_log group by 1 order by 1")).all())
        corrections = conn.scalar(sa.text("select count(*) from mart.submission_log where version >= 2"))
        targets = dict(conn.execute(sa.text(
            "select status, count(*) from mart.target_attainment group by 1 order by 1")).all())
    return {
        "submissions": ", ".join(f"{k}: {v}" for k, v in statuses.items()) or "none",
        "later versions (corrections)": str(corrections),
        "targets": ", ".join(f"{k}: {v}" for k, v in targets.items()),
    }


@flow(name="demo")
def demo(as_of: dt.date = DEFAULT_AS_OF, seed: int = DEMO_SEED) -> dict:
    """Sample feeds for every submitting unit, two ingest passes (the second brings a late correction), report."""
    started = time.perf_counter()
    settings = load_settings()
    init_warehouse()
    catalog = read_catalog(settings.catalog_dir)

    # --- generate ------------------------------------------------------------------------
    files = build_feeds(catalog, as_of, seed)
    reset_demo_inbox(settings)

    # --- first pass, then the files that land after it ----------------------------------------
    first = write_demo_feeds(settings, files, 1)
    ingest(as_of=as_of)
    second = write_demo_feeds(settings, files, 2)
    ingest(as_of=as_of)

    # --- report --------------------------------------------------------------------------
    report_path = report(as_of=as_of)
    result = {
        "warehouse": _public_url(get_engine(settings).url),
        "reader": "run `chitieu warehouse --reader` for the read-only BI role's URL",
        "inbox": str(settings.inbox),
        "files": f"{first} in the first pass, {second} landing after it",
        **_warehouse_summary(settings),
        "report": report_path,
    }
    docs = settings.data_docs_dir / "index.html"
    if docs.exists():
        result["data_docs"] = str(docs)
    result["seconds"] = f"{time.perf_counter() - started:.1f}"
    return result
