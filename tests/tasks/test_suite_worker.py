"""The suite worker (chitieu.suites): a worker that dies mid-pass (killed, out of memory) leaves the checks to the
calling process, which gives the same verdicts. (The broken executor shuts itself down: CPython's process pool
marks itself broken and ends its manager thread.)"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

import chitieu.suites as suites
from chitieu.catalog import read_catalog
from tasks.parse import parse_feed
from tasks.validate import validate_feed
from tests.conftest import CATALOG
from tests.feeds import DOSSIER, landed, write_csv


def test_a_lost_suite_worker_leaves_the_checks_to_this_process(tmp_path):
    bad = write_csv(tmp_path, "XA_CHILANG", "dossier", "bad.csv", DOSSIER,
                    [["XA_CHILANG", "2026-01", "4", "3", "2", "1"], ["XA_CHILANG", "2026-02", "4", "9", "2", "1"]])
    suites.stop_worker()
    try:
        suites.start_worker().result(timeout=180)  # warm: Great Expectations imported there
        for process in list(suites._worker._processes.values()):
            process.kill()
            process.join(30)
        verdicts = validate_feed.fn(parse_feed.fn("dossier", [landed(bad)]), read_catalog(CATALOG),
                                    dt.date(2026, 11, 20), None)
        assert verdicts[0].status == "rejected"
        assert [f.expectation for f in verdicts[0].failures] == ["received_online_le_received_total"]
        assert suites._worker is None  # the next pass starts a fresh one
    finally:
        suites.stop_worker()


_KILLED_PARENT = """
import os, signal, time
import chitieu.suites as suites
suites.start_worker()
time.sleep(1)
print(*suites._worker._processes, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no exit handler runs: the executor never shuts its worker down
"""


def test_the_suite_worker_ends_when_its_parent_is_killed():
    done = subprocess.run([sys.executable, "-c", _KILLED_PARENT], capture_output=True, text=True, timeout=120)
    [worker] = [int(pid) for pid in done.stdout.split()]
    deadline = time.monotonic() + 30
    while _running(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(worker), f"suite worker {worker} outlived its killed parent"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False
