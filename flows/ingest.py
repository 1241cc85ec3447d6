"""Flow: one ingest pass over the landing zone — discover, parse, validate, load, derive, alert, publish."""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path

from prefect import flow, runtime, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture
from prefect.utilities.annotations import quote

from chitieu.approval import auto_lock
from chitieu.catalog import read_catalog
from chitieu.config import FEEDS, TASK_RUNNER_ENV, Settings, load_settings, runs_tasks_here
from chitieu.errors import ConfigError, LandingZoneMissing
from chitieu.local_time import today
from chitieu.records import ACCEPTED, RunSummary, SubmissionOutcome
from chitieu.runs import finish_run, interrupted_runs, record_landing, release_leases, start_run
from chitieu.suites import start_worker, start_worker_for, stop_idle_worker
from chitieu.warehouse import get_engine
from tasks.alerts import send_alerts
from tasks.archive import archive_files
from tasks.data_docs import build_data_docs
from tasks.derive import changed_since, derive_metrics
from tasks.discover import classify_files, discover_files, landed_fingerprints
from tasks.publish import announce_outcomes, publish_run

# tasks.parse, tasks.validate and tasks.load (pandas, pyarrow: ~0.5 s to import) are imported where there is
# something to parse, validate or load, so that a pass over an empty inbox stays light.

__all__ = ["TASK_RUNNER_ENV", "ingest", "make_task_runner", "process_files"]

PART_BYTES = 48 * 2**20  # new files of a feed per pipelined part (up to ~440,000 disbursement rows)


class _Pipeline:
    """Parts of a run: each part's files are packed into the archive while the flow's thread parses and validates
    it; the warehouse loads it (a task in the flow's thread pool; PostgreSQL does that work in its own processes)
    while the next part is parsed, then settles its facts (BRIN summary, statistics) and derives its units while
    the next one loads. One part loads at a time, so at most two are held in memory."""

    def __init__(self, settings: Settings, as_of: dt.date, run_id: int, derive_parts: bool):
        self.settings, self.as_of, self.run_id, self.derive_parts = settings, as_of, run_id, derive_parts
        self.outcomes: list[SubmissionOutcome] = []
        self.derived: set[tuple[str, str]] = set()  # (unit, feed) pairs derived at as_of by a part
        self._loading = None
        self._deriving: list = []
        self._settling: list = []
        self._archiving: list = []

    def archive(self, files: list):
        """Start packing a part's files into the archive (system calls and I/O waits) while it is parsed."""
        archiving = archive_files.submit(self.settings, quote(files))
        self._archiving.append(archiving)
        return archiving

    def collect(self) -> None:
        """Wait for the part being loaded (and start deriving its units)."""
        self._collect(derive=self.derive_parts)

    def load(self, parsed, verdicts, archiving) -> None:
        """Start loading a part once the previous one is loaded."""
        from tasks.load import load_submissions

        self.collect()
        # quote(): Prefect would otherwise walk every file, row and verdict of these parameters, twice per task;
        # the part's pack exists before its submissions commit (the load waits for the archive task's result)
        self._loading = load_submissions.submit(self.settings, quote(parsed), quote(verdicts), self.run_id,
                                                archiving, settle=False)

    def _settle(self, loaded: list[SubmissionOutcome]):
        """Settle a loaded part's facts beside the next part's load: before, each load ended with it (~0.2 s of
        the chain of loads per part); what reads the facts (its derive, the run's) waits for it."""
        from tasks.load import settle_facts

        settling = settle_facts.submit(self.settings, quote(loaded))
        self._settling.append((loaded[0].feed if loaded else None, settling))
        return settling

    def _collect(self, derive: bool) -> None:
        """Wait for the part being loaded; derive its units in the background while the next part loads."""
        if self._loading is None:
            return
        loading, self._loading = self._loading, None
        loaded = loading.result()
        self.outcomes += loaded
        settling = self._settle(loaded)
        accepted = [o for o in loaded if o.status in ACCEPTED]
        dirty = {(o.unit_code, o.feed) for o in accepted}
        if derive and dirty:
            self._deriving.append(derive_metrics.submit(self.settings, quote(dirty), self.as_of, sweep=False,
                                                        since=quote(changed_since(accepted)), wait_for=[settling]))
            self.derived |= dirty

    def finish(self) -> PrefectFuture | None:
        """The last part loaded (the run's own derive takes its units), every part's derive done and its facts
        settled, but for the last part's settle when an earlier part of its feed settled in this run: returned, for
        the caller to wait for after starting the run's derive, which the statistics of the earlier parts serve as
        well (the tail of a national pass 0.83 → 0.70 s in one timeline); None when there is none."""
        self._collect(derive=False)
        last = None
        if len(self._settling) > 1 and self._settling[-1][0] in {feed for feed, _ in self._settling[:-1]}:
            last = self._settling.pop()[1]
        for future in (*(f for _, f in self._settling), *self._deriving):
            future.result()
        return last

    def abandon(self) -> None:
        """On error: let the part being loaded and the derives finish (each commits whole), raising nothing."""
        futures = (self._loading, *(f for _, f in self._settling), *self._deriving, *self._archiving)
        for future in [f for f in futures if f is not None]:
            future.wait()


def process_files(settings: Settings, files_by_feed: dict, catalog, as_of: dt.date, run_id: int,
                  derive_parts: bool = True,
                  ) -> tuple[list[SubmissionOutcome], set[tuple[str, str]], PrefectFuture | None]:
    """Parse, validate and load each feed's new files in this process, one batch per feed: a feed of more than
    PART_BYTES of new files in parts of whole units, pipelined (_Pipeline). Returns the outcomes, the (unit,
    feed) pairs already derived at `as_of`, and the last part's settle still running (_Pipeline.finish) or None."""
    if not any(files_by_feed.values()):
        return [], set(), None
    start_worker()  # the suite worker imports Great Expectations (~3 s) beside this process's imports and parse
    from tasks.parse import parse_feed, read_contents
    from tasks.validate import prefetch_previous, validate_feed

    pipeline = _Pipeline(settings, as_of, run_id, derive_parts)
    parts = [(feed, part) for feed, files in ((feed, files_by_feed.get(feed) or []) for feed in FEEDS)
             for part in _partitions(files, math.ceil(sum(f.size_bytes for f in files) / PART_BYTES))]
    try:
        contents = None  # the first part's files are read by its parse
        for i, (feed, part) in enumerate(parts):
            archiving = pipeline.archive(part)
            previous = prefetch_previous(settings, feed, part)
            parsed = parse_feed(feed, quote(part), quote(contents))
            verdicts = validate_feed(quote(parsed), quote(catalog), as_of, settings, quote(previous))
            # the next part's files are read while no load runs: each read gives up the interpreter lock, and a
            # busy thread can keep it for 5 ms (read during a load, 3,321 small files took 0.8 s, not 0.07 s)
            pipeline.collect()
            contents = [read_contents(f) for f in parts[i + 1][1]] if i + 1 < len(parts) else None
            pipeline.load(parsed, verdicts, archiving)
        settling = pipeline.finish()
    except BaseException:
        pipeline.abandon()
        raise
    return _in_landing_order(pipeline.outcomes, files_by_feed), pipeline.derived, settling


def _in_landing_order(outcomes: list[SubmissionOutcome], files_by_feed: dict) -> list[SubmissionOutcome]:
    """Outcomes by feed, then in the order discovery listed the files."""
    position = {(f.feed, f.rel_path): i for feed in FEEDS for i, f in enumerate(files_by_feed.get(feed) or [])}
    return sorted(outcomes, key=lambda o: (FEEDS.index(o.feed), position.get((o.feed, o.file_name), 0)))


# --- scale-out: partitions of units as parallel tasks on a Dask cluster ------------------------------


def make_task_runner(spec: str | None):
    """The task runner named by `spec` (CHITIEU_TASK_RUNNER): None or `local` for in-process (None returned),
    `dask` for a local Dask cluster, `dask:<scheduler address>` for a running one (pip install 'chitieu[dask]')."""
    if runs_tasks_here(spec or ""):
        return None
    spec = spec.strip()
    kind, _, address = spec.partition(":")
    if kind != "dask":
        raise ConfigError(f"{TASK_RUNNER_ENV}={spec!r}: expected 'local', 'dask' or 'dask:<scheduler address>'")
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        raise ConfigError(f"{TASK_RUNNER_ENV}={spec!r} needs prefect-dask: pip install 'chitieu[dask]'") from None
    return DaskTaskRunner(address=address) if address else DaskTaskRunner()


def _partitions(files: list, count: int) -> list[list]:
    """Files split into at most `count` parts by unit (a unit's files stay together and in order), by size."""
    by_unit: dict[str, list] = {}
    for landed in files:
        by_unit.setdefault(landed.unit_code, []).append(landed)
    parts: list[list] = [[] for _ in range(max(1, min(count, len(by_unit))))]
    sizes = [0] * len(parts)
    for unit_files in sorted(by_unit.values(), key=lambda fs: -sum(f.size_bytes for f in fs)):
        smallest = sizes.index(min(sizes))
        parts[smallest] += unit_files
        sizes[smallest] += sum(f.size_bytes for f in unit_files)
    order = {id(f): i for i, f in enumerate(files)}
    return [sorted(part, key=lambda f: order[id(f)]) for part in parts if part]


@task(name="process_partition", cache_policy=NO_CACHE)
def process_partition(settings: Settings, feed: str, files: list, catalog, as_of: dt.date,
                      run_id: int, pack: str | None) -> list[SubmissionOutcome]:
    """Parse, validate and load one partition of a feed's files (whole units) on whichever worker runs it."""
    from tasks.load import load_submissions
    from tasks.parse import parse_feed
    from tasks.validate import validate_feed

    parsed = parse_feed(feed, quote(files))
    verdicts = validate_feed(quote(parsed), quote(catalog), as_of, settings)
    return load_submissions(settings, quote(parsed), quote(verdicts), run_id, pack)


@flow(name="process-partitions", validate_parameters=False)
def process_partitions(settings: Settings, files_by_feed: dict, catalog, as_of: dt.date,
                       run_id: int, pack: str | None) -> list[SubmissionOutcome]:
    """Every feed's new files (archived in `pack`) as partitions of units, submitted as parallel tasks to this
    flow's task runner."""
    runner = FlowRunContext.get().task_runner
    try:
        workers = len(runner.client.scheduler_info()["workers"])
    except AttributeError:  # not a Dask runner
        workers = 2
    # no quote() here: annotations do not survive the trip to a Dask worker
    futures = [process_partition.submit(settings, feed, part, catalog, as_of, run_id, pack)
               for feed in FEEDS for part in _partitions(files_by_feed.get(feed) or [], 2 * max(1, workers))]
    return _in_landing_order([outcome for future in futures for outcome in future.result()], files_by_feed)


@flow(name="ingest", on_failure=[release_leases], on_crashed=[release_leases])
def ingest(inbox: str | None = None, as_of: dt.date | None = None, task_runner: str | None = None) -> RunSummary:
    """One pass: every new file is loaded or rejected with its reasons; other units' files are unaffected.

    `task_runner` (default $CHITIEU_TASK_RUNNER, else `local`): where parse, validate and load run; `dask` or
    `dask:<scheduler address>` spreads partitions of units over a Dask cluster's workers."""
    settings = load_settings()
    runner = make_task_runner(task_runner if task_runner is not None else os.environ.get(TASK_RUNNER_ENV))
    inbox_path = Path(inbox).resolve() if inbox else settings.inbox
    if not inbox_path.is_dir():  # before the run is recorded: a pass that cannot look is no pass
        raise LandingZoneMissing(str(inbox_path))
    # the suite worker imports Great Expectations (~2 s) while the run is recorded and the inbox discovered (`chitieu
    # run` starts it before it imports Prefect); one that a pass finding nothing new leaves idle is stopped below
    if runner is None:
        start_worker_for(inbox_path)
    as_of = as_of or today()
    catalog = read_catalog(settings.catalog_dir)
    engine = get_engine(settings)
    run_id = start_run(engine, "run", as_of, str(inbox_path), str(runtime.flow_run.id or ""))
    # runs killed before they finished: their loads committed, their derive and alerts may not have
    interrupted, orphans = interrupted_runs(engine, run_id)
    auto_lock(engine, settings.catalog_dir, as_of)  # periods past their due date by catalog/feeds.csv's days

    # --- discover ---------------------------------------------------------------------
    files, skipped = discover_files(inbox_path, quote(catalog.submitter_codes),
                                     quote(landed_fingerprints(settings)))
    discovery = classify_files(settings, quote(files), quote(skipped))
    if not discovery.new:
        stop_idle_worker()
    record_landing(engine, [(f, "submitted") for f in discovery.new]  # first: a crash later loses no sighting
                   + [(f, "duplicate") for f, _ in discovery.duplicates], discovery.skipped)

    # --- archive, parse, validate, load (one batch per feed, or pipelined parts) -----
    by_feed: dict[str, list] = {}
    for landed in discovery.new:
        by_feed.setdefault(landed.feed, []).append(landed)
    derived: set[tuple[str, str]] = set()
    settling = None  # the last part's settle, beside the run's derive
    if runner is None:
        outcomes, derived, settling = process_files(settings, by_feed, catalog, as_of, run_id,
                                                    derive_parts=not interrupted)
    else:
        pack = archive_files(settings, quote(discovery.new))
        outcomes = process_partitions.with_options(task_runner=runner)(settings, quote(by_feed), quote(catalog),
                                                                       as_of, run_id, pack)
    if discovery.duplicates:
        from tasks.load import record_duplicates

        outcomes += record_duplicates(settings, quote(discovery.duplicates), run_id)

    # --- derive (in the warehouse) while alerts go and Data Docs are built (neither reads derived values) ---
    accepted = [o for o in outcomes if o.status in ACCEPTED]
    dirty = {(o.unit_code, o.feed) for o in accepted}
    summary = RunSummary(run_id, as_of, outcomes, discovery.skipped, len(discovery.seen))
    deriving = derive_metrics.submit(settings, quote(dirty - derived), as_of, everything=bool(interrupted),
                                     derived=quote(frozenset(derived)), since=quote(changed_since(accepted)))
    building = None
    try:
        submitted = [o.submission_id for o in outcomes if o.submission_id] + orphans
        summary.alerts = send_alerts(settings, quote(submitted), quote(orphans))
        # Data Docs are rendered (by the suite worker when there is one) while the run is published
        building = build_data_docs.submit(settings, quote(submitted))
        # --- publish (artifacts, then the submissions' warnings and events: Prefect API calls while PostgreSQL
        # derives; the artifacts first, so that they do not queue behind thousands of events at the server)
        publish_run(quote(summary))
        announce_outcomes(summary, settings.submission_events == "all")
        summary.data_docs = building.result()
    finally:
        for future in (building, deriving, settling):  # an alert's failure still lets the derive commit
            if future is not None:
                future.wait()
    summary.derive = deriving.result()
    if settling is not None:
        settling.result()
    finish_run(engine, run_id, {"counts": summary.counts(), "skipped": len(summary.skipped),
                                "seen": summary.seen, "derive": summary.derive, "alerts": summary.alerts,
                                "recovered_runs": interrupted}, recovered=interrupted)
    return summary
