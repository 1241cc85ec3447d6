"""The validate step alone (`validate_feed.fn`, without a warehouse): a verdict per file from the feed's suite."""

from __future__ import annotations

import datetime as dt
from functools import cache

from chitieu.catalog import read_catalog
from chitieu.messages_vi import describe_check
from chitieu.records import CheckFailure, FileVerdict
from chitieu.vocabulary import format_failure_vi
from tasks.parse import parse_feed
from tasks.validate import validate_feed
from tests.conftest import CATALOG
from tests.feeds import DOSSIER, landed, write_csv

AS_OF = dt.date(2026, 11, 20)
INDICATOR = ["unit_code", "indicator_code", "period", "value"]


@cache
def _catalog():
    return read_catalog(CATALOG)


def _verdicts(feed: str, *paths) -> dict[int, FileVerdict]:
    return validate_feed.fn(parse_feed.fn(feed, [landed(p) for p in paths]), _catalog(), AS_OF, None)


def test_a_good_file_loads_and_a_broken_rule_rejects_its_file_alone(tmp_path):
    good = write_csv(tmp_path, "TTPVHCC", "dossier", "good.csv", DOSSIER,
                     [["TTPVHCC", "2026-01", "4", "3", "2", "1"], ["TTPVHCC", "2026-02", "8", "6", "4", "2"]])
    bad = write_csv(tmp_path, "XA_CHILANG", "dossier", "bad.csv", DOSSIER,
                    [["XA_CHILANG", "2026-01", "4", "3", "2", "1"], ["XA_CHILANG", "2026-02", "4", "9", "2", "1"]])
    verdicts = _verdicts("dossier", good, bad)
    assert (verdicts[0].status, verdicts[0].rows_total, verdicts[0].failures) == ("loaded", 2, [])
    # no warehouse, no history: the rows are noted as not scored for outliers (a note, not a failed check)
    assert [(n.expectation, n.severity, n.rows) for n in verdicts[0].notes] == [("history_too_short", "info", [2, 3])]
    assert verdicts[1].status == "rejected" and verdicts[1].rows_total == 2 and verdicts[1].rows_failed == 1
    (failure,) = verdicts[1].failures
    assert (failure.expectation, failure.severity, failure.column, failure.rows) == (
        "received_online_le_received_total", "error", "received_online", [3])
    assert failure.sample[0]["row"] == 3 and failure.sample[0]["received_online"] == 9


def test_an_unreadable_cell_is_worded_as_the_mail_words_it(tmp_path):
    """mart.data_quality (written from this verdict) and the alert mail (messages_vi) say the same thing."""
    path = write_csv(tmp_path, "XA_CHILANG", "indicator", "chi_tieu.csv", INDICATOR,
                     [["XA_CHILANG", "forest_cover_pct", "2026", "hai ba"]])
    (failure,) = _verdicts("indicator", path)[0].failures
    assert (failure.expectation, failure.column, failure.rows) == ("decimal_format", "value", [2])
    assert failure.message_vi == describe_check("indicator", "decimal_format", "value")
    assert failure.message_vi == format_failure_vi("Giá trị", "decimal_format")
    assert "dấu «,» trước phần thập phân" in failure.message_vi


def test_a_file_parse_rejected_whole_is_rejected_with_its_reason(tmp_path):
    empty = tmp_path / "TTPVHCC" / "dossier" / "empty.csv"
    empty.parent.mkdir(parents=True)
    empty.write_bytes(b"")
    (verdict,) = _verdicts("dossier", empty).values()
    assert verdict.status == "rejected" and verdict.rows_total == 0
    (failure,) = verdict.failures
    assert isinstance(failure, CheckFailure) and failure.severity == "error"
    assert failure.expectation == "file_not_empty" and failure.message_vi == "Tệp bị từ chối: Tệp rỗng"
    assert "TTPVHCC/dossier/empty.csv" in failure.message


def test_rows_failed_counts_each_row_once_and_ignores_warnings():
    verdict = FileVerdict("rejected", 5, [
        CheckFailure("a", "error", "x", [2, 3], [], "", ""), CheckFailure("b", "error", "y", [3, 4], [], "", ""),
        CheckFailure("c", "warning", "z", [5, 6], [], "", "")])
    assert verdict.rows_failed == 3
