"""One measured ingest pass in its own process; prints one JSON line (seconds, per-step seconds, peak RSS).

Run by bench/run_all.py as `python bench/child.py --inbox DIR --as-of YYYY-MM-DD [--warm-gx] [--profile FILE]`
with CHITIEU_HOME, CHITIEU_CATALOG and the Prefect settings in the environment. Imports (Python, Prefect,
chitieu) happen before the clock starts: they are the fixed overhead that bench measures separately with
`chitieu run` on an empty inbox. With --warm-gx, Great Expectations is imported and its context built first
too (a one-off per process, reported on its own line).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import importlib
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chitieu.runtime import command_line_run, quiet_environment  # noqa: E402

quiet_environment()

import flows.ingest as ingest_module  # noqa: E402

_STEPS = {"discover_files": "tasks.discover", "classify_files": "tasks.discover", "parse_feed": "tasks.parse",
          "validate_feed": "tasks.validate", "load_submissions": "tasks.load", "record_duplicates": "tasks.load",
          "record_landing": "flows.ingest", "archive_files": "tasks.archive", "derive_metrics": "tasks.derive",
          "send_alerts": "tasks.alerts",
          "build_data_docs": "tasks.data_docs", "publish_run": "tasks.publish"}


PEAKS: dict[str, float] = {}


def _cpu_seconds() -> tuple[float, float, float]:
    """CPU seconds so far of (this process and the children it waited for, every PostgreSQL process on the machine,
    the Prefect server's processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    postgres = prefect = 0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            text = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        ticks = sum(int(f) for f in text.rsplit(")", 1)[1].split()[11:13])  # utime, stime
        if "(postgres)" in text:
            postgres += ticks
        elif b"prefect" in cmdline and b"server" in cmdline:
            prefect += ticks
    hz = os.sysconf("SC_CLK_TCK")
    return (own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime, postgres / hz, prefect / hz)


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _timed(steps: dict[str, float], name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            steps[name] = steps.get(name, 0.0) + time.perf_counter() - started
            PEAKS[name] = _peak_mb()  # peak RSS of the process so far, as the step ends
    return wrapper


def _instrument(steps: dict[str, float]) -> None:
    """Time each step of the flow: task bodies (their .fn) and the plain helpers the flow calls."""
    for name, module_name in _STEPS.items():
        module = importlib.import_module(module_name)
        obj = getattr(module, name)
        if hasattr(obj, "fn"):
            obj.fn = _timed(steps, name, obj.fn)
        else:
            setattr(module, name, _timed(steps, name, obj))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inbox", required=True)
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--warm-gx", action="store_true")
    parser.add_argument("--profile")
    parser.add_argument("--skip", action="append", default=[], help="diagnostics: a step to replace by a no-op")
    args = parser.parse_args()
    out: dict = {}
    if args.warm_gx:
        from chitieu.suites import start_worker

        started = time.perf_counter()
        warming = start_worker()
        if warming is not None:
            warming.result()
        out["gx_warmup_s"] = round(time.perf_counter() - started, 3)
    steps: dict[str, float] = {}
    _instrument(steps)
    for name in args.skip:
        getattr(importlib.import_module(_STEPS[name]), name).fn = lambda *a, **k: None
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.005)
        profiler.start()
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    with command_line_run():  # as `chitieu run` runs it
        summary = ingest_module.ingest(inbox=args.inbox, as_of=dt.date.fromisoformat(args.as_of))
    out["seconds"] = round(time.perf_counter() - started, 3)
    cpu_after = _cpu_seconds()
    out["cpu_s"] = {name: round(after - before, 2)
                    for name, before, after in zip(("python", "postgres", "prefect_server"), cpu_before, cpu_after,
                                                   strict=True)}
    if profiler is not None:
        profiler.stop()
        Path(args.profile).write_text(profiler.output_text(unicode=True, color=False, show_all=False))
        profiler.last_session.save(str(Path(args.profile).with_suffix(".pyisession")))
    out["steps"] = {k: round(v, 3) for k, v in steps.items()}
    out["counts"] = summary.counts()
    out["rows"] = sum(o.rows_total for o in summary.outcomes)
    out["derive"] = summary.derive
    out["maxrss_mb"] = _peak_mb()
    out["peak_after_mb"] = PEAKS
    print("BENCH " + json.dumps(out, default=str), flush=True)


if __name__ == "__main__":
    main()
