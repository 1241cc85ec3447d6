"""chitieu.deferred_imports: a module deferred stays unexecuted through imports of it, and runs on first use."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import sys
from chitieu.deferred_imports import defer_import

defer_import("json.tool")
import json.tool                       # an import of it (the import system reads its __spec__) does not run it
from json import tool
assert tool is sys.modules["json.tool"] and "main" not in vars(tool), "ran on import"
assert callable(tool.main)             # first use runs it
assert tool.__name__ == "json.tool" and "_deferred_loader" not in vars(tool)
try:
    tool.no_such_name
except AttributeError:
    pass
else:
    raise AssertionError("a missing name must raise AttributeError")
"""


def test_a_deferred_module_runs_on_first_use_not_on_import():
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_checking_a_feed_leaves_scipy_stats_and_altair_unexecuted(tmp_path):
    """Great Expectations' import defers them (~1 s of its ~3 s): a feed's checks, failing ones included, never run
    them."""
    probe = f"""
import datetime as dt, sys
from pathlib import Path
from chitieu.catalog import read_catalog
from tasks.parse import parse_feed
from tasks.validate import validate_feed
from tests.conftest import CATALOG
from tests.feeds import DOSSIER, landed, write_csv

bad = write_csv(Path({str(tmp_path)!r}), "XA_CHILANG", "dossier", "bad.csv", DOSSIER,
                [["XA_CHILANG", "2026-01", "4", "3", "2", "1"], ["XA_CHILANG", "2026-02", "4", "9", "2", "1"]])
verdicts = validate_feed.fn(parse_feed.fn("dossier", [landed(bad)]), read_catalog(CATALOG), dt.date(2026, 11, 20),
                            None)
assert verdicts[0].status == "rejected", verdicts
print([n for n in ("scipy.stats", "altair") if "_deferred_loader" in vars(sys.modules[n])])
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "['scipy.stats', 'altair']"
