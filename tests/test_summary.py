"""The summary `chitieu run` prints: every submission of a small run; a national run's clean ones counted."""

from __future__ import annotations

import datetime as dt

from chitieu.records import CheckFailure, RunSummary, SubmissionOutcome
from chitieu.summary import LISTED_IN_FULL, print_summary


def _outcomes(count: int, rejected_at: int) -> list[SubmissionOutcome]:
    failure = CheckFailure("received_online_le_received_total", "error", "received_online", [7], [],
                           "online > total", "trực tuyến > tổng")
    return [SubmissionOutcome(i + 1, f"XA_{i:04d}", "dossier", f"file_{i:04d}.csv",
                              "rejected" if i == rejected_at else "loaded", 1,
                              failures=[failure] if i == rejected_at else [])
            for i in range(count)]


def test_a_small_run_lists_every_submission(capsys):
    print_summary(RunSummary(1, dt.date(2026, 11, 20), _outcomes(LISTED_IN_FULL, rejected_at=3)))
    out = capsys.readouterr().out
    assert all(f"file_{i:04d}.csv" in out for i in range(LISTED_IN_FULL))
    assert "not listed" not in out


def test_a_national_run_lists_what_needs_a_look_and_counts_the_rest(capsys):
    print_summary(RunSummary(1, dt.date(2026, 11, 20), _outcomes(3_321, rejected_at=1_234)))
    out = capsys.readouterr().out
    assert "file_1234.csv" in out and "rejected" in out
    assert "[error] online > total" in out
    assert "file_0001.csv" not in out and "file_3320.csv" not in out
    assert "3,320 loaded or duplicate submissions not listed" in out
    assert "loaded: 3320, rejected: 1" in out
