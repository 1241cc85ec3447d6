"""The load step alone (`load_submissions.fn`, `record_duplicates.fn`, `reload_submissions.fn`) on a real
warehouse: parsed and validated files in, submissions, facts and checks out."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from chitieu.catalog import read_catalog
from chitieu.config import load_settings
from chitieu.records import CheckFailure, FileVerdict, SubmissionOutcome
from tasks.load import load_submissions, record_duplicates, reload_submissions
from tasks.parse import parse_feed
from tasks.validate import validate_feed
from tests.conftest import CATALOG
from tests.feeds import DOSSIER, landed, write_csv

AS_OF = dt.date(2026, 11, 20)


def _parsed_and_verdicts(inbox):
    good = write_csv(inbox, "TTPVHCC", "dossier", "good.csv", DOSSIER,
                     [["TTPVHCC", "2026-01", "4", "3", "2", "1"], ["TTPVHCC", "2026-02", "8", "6", "4", "2"]])
    bad = write_csv(inbox, "XA_CHILANG", "dossier", "bad.csv", DOSSIER,
                    [["XA_CHILANG", "2026-01", "4", "9", "2", "1"]])
    parsed = parse_feed.fn("dossier", [landed(good), landed(bad)])
    return parsed, validate_feed.fn(parsed, read_catalog(CATALOG), AS_OF, load_settings())


def test_accepted_files_load_their_facts_and_rejected_ones_their_checks(env, engine):
    parsed, verdicts = _parsed_and_verdicts(env["inbox"])
    outcomes = load_submissions.fn(load_settings(), parsed, verdicts, None, None)
    assert all(isinstance(o, SubmissionOutcome) for o in outcomes)
    assert [(o.unit_code, o.file_name, o.status, o.rows_total, o.rows_failed, o.periods) for o in outcomes] == [
        ("TTPVHCC", "TTPVHCC/dossier/good.csv", "loaded", 2, 0, ["2026-01", "2026-02"]),
        ("XA_CHILANG", "XA_CHILANG/dossier/bad.csv", "rejected", 1, 1, ["2026-01"])]
    good, bad = (o.submission_id for o in outcomes)
    with engine.connect() as conn:
        facts = conn.execute(sa.text("select submission_id, period, received_total from core.fact_dossier"
                                     " order by period")).all()
        assert [tuple(r) for r in facts] == [(good, "2026-01", 4), (good, "2026-02", 8)]
        checks = conn.execute(sa.text("select submission_id, expectation, failed_row_numbers"
                                      " from audit.check_result")).all()
        assert [tuple(r) for r in checks] == [(bad, "received_online_le_received_total", [2])]
        current = conn.execute(sa.text("select submission_id, period from core.current_slice order by period")).all()
        assert [tuple(r) for r in current] == [(good, "2026-01"), (good, "2026-02")]


def test_duplicates_are_recorded_and_change_nothing_else(env, engine):
    parsed, verdicts = _parsed_and_verdicts(env["inbox"])
    first = load_submissions.fn(load_settings(), parsed, verdicts, None, None)[0]
    (duplicate,) = record_duplicates.fn(load_settings(), [(parsed.files[0], first.submission_id)], None)
    assert (duplicate.status, duplicate.file_name, duplicate.rows_total) == ("duplicate", "TTPVHCC/dossier/good.csv", 0)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("select count(*) from core.fact_dossier")) == 2
        assert conn.scalar(sa.text("select status from audit.submission where submission_id = :s"),
                           {"s": duplicate.submission_id}) == "duplicate"


def test_a_reload_replaces_a_submissions_facts_and_checks_in_place(env, engine):
    parsed, verdicts = _parsed_and_verdicts(env["inbox"])
    outcomes = load_submissions.fn(load_settings(), parsed, verdicts, None, None)
    ids = [o.submission_id for o in outcomes]
    # today's rules reject the first file and accept the second
    stricter = {0: FileVerdict("rejected", 2, [CheckFailure("new_rule", "error", "period", [3], [], "new rule",
                                                            "Quy tắc mới")]),
                1: FileVerdict("loaded", 1, [])}
    reloaded = reload_submissions.fn(load_settings(), parsed, stricter, ids)
    assert [(o.submission_id, o.status) for o in reloaded] == [(ids[0], "rejected"), (ids[1], "loaded")]
    with engine.connect() as conn:
        facts = conn.execute(sa.text("select submission_id, received_online from core.fact_dossier")).all()
        assert [tuple(r) for r in facts] == [(ids[1], 9)]
        checks = conn.execute(sa.text("select submission_id, expectation from audit.check_result")).all()
        assert [tuple(r) for r in checks] == [(ids[0], "new_rule")]
