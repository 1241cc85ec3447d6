"""The suite worker (chitieu.suites): a worker that dies mid-pass (killed, out of memory) leaves the checks to the
calling process, which gives the same verdicts. (The broken executor shuts itself down: CPython's process pool
marks itself broken and ends its manager thread.)"""

from __future__ import annotations

import datetime as dt

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
