"""The feeds' Great Expectations suites (expectations/<feed>.json) and the process they run in.

A pass with files to validate starts a worker process (start_worker, once per process; `chitieu run` starts it
before it imports Prefect) that imports Great Expectations (~2 s of CPU, scipy.stats and altair deferred) while
the pass records its run, discovers and parses files, and from then on runs every suite (run_suite) and every
Data Docs render (in_gx_process) of that process. GX's modules then stay out of the pass's own memory (the national
pass's peak RSS: ~860 MB instead of ~950 MB) and off its interpreter lock. Without a worker (an upload, a rerun, a
Dask worker) they run in the calling process, as before."""

from __future__ import annotations

import atexit
import json
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from chitieu.deferred_imports import defer_import
from chitieu.feeds import EXPECTATIONS_DIR
from chitieu.landing import holds_a_file

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

# numpy and pandas are imported where a frame is converted: tasks.data_docs imports this module, and a pass over an
# empty inbox must not pay for pandas.

__all__ = ["code_columns", "load_suite_json", "numpy_dtypes", "run_suite", "start_worker", "start_worker_for",
           "stop_idle_worker", "stop_worker",
           "suite_columns", "validate_frame", "in_gx_process"]

_log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _make_gx_context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    for name in ("scipy.stats", "altair"):  # imported by an expectation our suites never use: ~1 s
        defer_import(name)
    import great_expectations as gx  # imported lazily: ~2 s, only needed when there is something to validate

    for name in ("great_expectations", "great_expectations.core", "great_expectations.data_context",
                 "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every in-memory batch by hashing all its cells, twice per validation (~1.3 s per 1 M rows);
    # the fingerprint is batch metadata we never read.
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    source = context.data_sources.add_pandas("feeds")
    return gx, source.add_dataframe_asset("batch").add_batch_definition_whole_dataframe("whole")


@cache
def load_suite_json(feed: str) -> dict:
    return json.loads((EXPECTATIONS_DIR / f"{feed}.json").read_text(encoding="utf-8"))


# Expectations that only ask whether values are present or equal (within a key, or between two columns): the
# suite may see the columns they read as integer codes of the values instead of a million Python strings.
_EQUALITY_ONLY = {"expect_column_values_to_not_be_null": ("column",),
                  "expect_compound_columns_to_be_unique": ("column_list",),
                  "expect_column_pair_values_to_be_equal": ("column_A", "column_B")}


@cache
def code_columns(feed: str) -> frozenset[str]:
    """Columns the suite only compares for presence and equality (codes of one shared dictionary keep both)."""
    ok: dict[str, bool] = {}
    for expectation in load_suite_json(feed)["expectations"]:
        kwargs, kind = expectation["kwargs"], expectation["type"]
        for key in ("column", "column_A", "column_B", "column_list"):
            names = kwargs.get(key, ())
            for name in [names] if isinstance(names, str) else names:
                ok[name] = ok.get(name, True) and key in _EQUALITY_ONLY.get(kind, ())
    return frozenset(name for name, fine in ok.items() if fine)


@cache
def suite_columns(feed: str) -> frozenset[str]:
    """The columns the feed's suite looks at (and _idx, which names failing rows)."""
    columns = {"_idx"}
    for expectation in load_suite_json(feed)["expectations"]:
        kwargs = expectation["kwargs"]
        columns.update(kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs)
        columns.update(kwargs.get("column_list", ()))
    return frozenset(columns)


def numpy_dtypes(frame: pd.DataFrame, as_codes: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Plain numpy/object columns: GX's pandas metrics mis-handle nullable and Arrow-backed dtypes. Text columns
    in `as_codes` become float codes (NaN where missing) of one dictionary shared by all of them, so that equal
    texts get equal codes across columns."""
    import numpy as np
    import pandas as pd

    coded = [name for name in frame.columns if name in as_codes and isinstance(frame[name].dtype, pd.StringDtype)]
    codes_of: dict[str, np.ndarray] = {}
    if coded:
        codes, _ = pd.factorize(pd.concat([frame[name] for name in coded], ignore_index=True),
                                use_na_sentinel=True)
        codes = np.where(codes < 0, np.nan, codes.astype("float64"))
        codes_of = dict(zip(coded, np.split(codes, len(coded)), strict=True))
    out = {}
    for name, col in frame.items():
        if name in codes_of:
            out[name] = pd.Series(codes_of[name], index=frame.index)
        elif pd.api.types.is_datetime64_any_dtype(col):
            out[name] = col
        elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            out[name] = pd.to_numeric(col, errors="coerce").astype("float64")
        elif isinstance(col.dtype, pd.StringDtype):
            # one Python object per distinct value, shared by its rows (a million unit codes are a few thousand)
            codes, uniques = pd.factorize(col, use_na_sentinel=True)
            values = np.empty(len(uniques) + 1, dtype=object)
            values[:-1] = uniques.astype(object)
            values[-1] = None
            out[name] = pd.Series(values[codes], index=frame.index, dtype=object)
        else:
            out[name] = col.astype(object).where(col.notna(), None)
    return pd.DataFrame(out, index=frame.index)


def run_suite(feed: str, frame: pd.DataFrame, parameters: dict) -> list[tuple[int, list[int]]]:
    """(number of the expectation in the suite, failing _idx values) for every failed expectation of the feed's
    suite over `frame` (its suite_columns), in this process."""
    import pandas as pd

    gx, batch_definition = _gx_context()
    frame = numpy_dtypes(frame, code_columns(feed))
    body = load_suite_json(feed)
    numbered = [{**e, "meta": {**e.get("meta", {}), "n": n}} for n, e in enumerate(body["expectations"])]
    suite = gx.ExpectationSuite(name=body["name"], expectations=numbered, meta=body.get("meta"))
    # GX names failing rows by the frame's index: make it _idx (asking for an index *column* instead makes GX
    # build one dict per failing row, ~90 s for a million of them).
    frame = frame.set_axis(pd.Index(frame["_idx"].to_numpy()))
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, expectation_parameters=parameters, result_format={
        "result_format": "COMPLETE", "return_unexpected_index_query": False, "partial_unexpected_count": 0,
        "exclude_unexpected_values": True})
    failed = []
    for res in result.results:  # GX does not keep the suite's order: match on the number we gave each one
        n = res.expectation_config.meta["n"]
        spec = body["expectations"][n]
        if res.success:
            continue
        if res.exception_info and res.exception_info.get("raised_exception"):
            raise RuntimeError(f"expectation {spec['type']} on {feed} failed to run: "
                               f"{res.exception_info.get('exception_message')}")
        failed.append((n, [int(i) for i in res.result.get("unexpected_index_list") or []]))
    return failed


# --- the worker process ----------------------------------------------------------------------------------------

_GX_LOCK = threading.Lock()
_WORKER_LOCK = threading.Lock()
_worker: ProcessPoolExecutor | None = None
_worker_used = False  # whether anything but its warm-up was sent to the worker


def _gx_context():
    """Great Expectations and its context, made once per process; a caller waits for one being made."""
    with _GX_LOCK:
        return _make_gx_context()


def _warm() -> None:
    _gx_context()


def _exit_at_once() -> None:
    """In the worker: end without the interpreter's teardown (~0.7 s with GX loaded), which the parent's exit would
    wait for (the executor joins its workers). The worker holds nothing to flush: results went back as they came.
    It also ends when its parent ends without shutting it down (killed, out of memory): waiting on its call queue,
    it would never notice, and stayed behind idle with Great Expectations loaded (~200 MB)."""
    atexit.register(os._exit, 0)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent.sentinel,), daemon=True, name="parent-watch").start()


def _end_with(parent_sentinel: int) -> None:
    """Wait until the parent process has ended, then end this one."""
    multiprocessing.connection.wait([parent_sentinel])
    os._exit(0)


def start_worker() -> Future | None:
    """Start this process's suite worker (once; it lives as long as the process), which imports Great Expectations
    and makes its context straight away; returns that warm-up's future (None when the worker was running)."""
    global _worker, _worker_used
    with _WORKER_LOCK:
        if _worker is not None:
            return None
        _worker_used = False
        # spawn: a fork would copy this process's threads' locks (Prefect's event loops, the load lanes) mid-use
        _worker = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_exit_at_once)
        return _worker.submit(_warm)


def start_worker_for(inbox: Path) -> None:
    """Start the suite worker on the chance that a pass over `inbox` has files to validate: when any file sits
    where a submission would (chitieu.landing.holds_a_file). A pass that finds nothing new stops it again
    (stop_idle_worker). A running worker is left as it is, without a look at the inbox."""
    if _worker is None and holds_a_file(inbox):
        start_worker()


def stop_idle_worker() -> None:
    """Kill this process's suite worker if it has run nothing but its warm-up: started on the chance that a pass
    would have files to validate, it turned out to have none. A worker that ran suites is kept for the process's
    next passes."""
    if not _worker_used:
        stop_worker()


def stop_worker() -> None:
    """Kill this process's suite worker: its warm-up (importing GX), if still going, is abandoned, not waited for
    (the interpreter's exit would wait for it, ~3 s)."""
    global _worker
    with _WORKER_LOCK:
        worker, _worker = _worker, None
    if worker is None:
        return
    kill = getattr(worker, "kill_workers", None)  # Python 3.14's API; before it, the executor's own process table
    if kill is not None:
        kill()
    else:
        for process in list((getattr(worker, "_processes", None) or {}).values()):
            process.kill()
    worker.shutdown(wait=False, cancel_futures=True)


def in_gx_process(fn, *args):
    """fn(*args) in the suite worker when this process started one (Great Expectations is loaded there), else here.
    `fn` must be importable by name (a module-level function of a module light to import)."""
    global _worker, _worker_used
    worker = _worker
    if worker is not None:
        _worker_used = True
        try:
            return worker.submit(fn, *args).result()
        except BrokenProcessPool as exc:  # the worker died (killed, out of memory): this process does it
            _log.warning("suite worker lost (%s); running %s in this process", exc, fn.__name__)
            with _WORKER_LOCK:
                if _worker is worker:
                    _worker = None
    return fn(*args)


def validate_frame(feed: str, frame: pd.DataFrame, parameters: dict) -> list[tuple[dict, list[int]]]:
    """(expectation json, failing _idx values) for every failed expectation of the feed's suite over `frame`: in
    the worker when one was started, else here."""
    failed = in_gx_process(run_suite, feed, frame[[c for c in frame.columns if c in suite_columns(feed)]],
                           parameters)
    expectations = load_suite_json(feed)["expectations"]
    return [(expectations[n], rows) for n, rows in failed]
