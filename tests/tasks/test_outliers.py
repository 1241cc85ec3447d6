"""Seasonal outlier scores (chitieu.outliers) on synthetic series, and end to end through the dossier suite."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import sqlalchemy as sa

from chitieu.outliers import MIN_POINTS, THRESHOLD, outlier_scores
from flows.ingest import ingest
from tests.feeds import DOSSIER, write_csv

NOISE = [98, 101, 103, 99, 100, 102, 97, 100, 104, 99, 101, 96, 103, 100, 98, 102, 99, 101, 100, 97, 103, 99, 102]


def _idx(period: str) -> int:
    return int(period[:4]) * 12 + int(period[5:]) - 1


def _months(start: str, count: int) -> list[str]:
    first = _idx(start)
    return [f"{(first + i) // 12}-{(first + i) % 12 + 1:02d}" for i in range(count)]


def _history(values: dict[str, float], unit: str = "U1") -> pd.DataFrame:
    return pd.DataFrame({"unit_code": unit, "_pidx": [_idx(p) for p in values], "v": list(values.values())})


def _score(history: pd.DataFrame, period: str, value: float, unit: str = "U1") -> pd.Series:
    new = pd.DataFrame({"unit_code": [unit], "_pidx": [_idx(period)], "v": [value]})
    return outlier_scores(new, history, ["unit_code"], ["v"]).iloc[0]


def _seasonal_history() -> dict[str, float]:
    """January 2025 to November 2026 around 100, with a December peak (300) in 2025."""
    values = dict(zip(_months("2025-01", 23), NOISE, strict=True))
    values["2025-12"] = 300
    return values


def test_a_december_peak_seen_the_year_before_is_not_flagged():
    history = _history(_seasonal_history())
    row = _score(history, "2026-12", 310)
    assert row["_last_year_v"] == 300 and row["_points"] == 23
    assert abs(row["_z_v"]) > THRESHOLD            # far from the usual months...
    assert row["_score_v"] < THRESHOLD             # ...but not from last December: no warning
    # the same peak with no December a year before is flagged
    without = _history({p: v for p, v in _seasonal_history().items() if p != "2025-12"})
    assert _score(without, "2026-12", 310)["_score_v"] > THRESHOLD


def test_a_value_typed_two_and_a_half_times_too_high_is_flagged():
    history = _history(_seasonal_history())
    row = _score(history, "2026-06", 250)          # the old 1/3-3x band let this through
    assert row["_score_v"] > THRESHOLD and row["_z_v"] > 0
    assert row["_median_v"] == 100 and row["_points"] == 22   # June 2026 itself is left out of its history
    assert _score(history, "2026-06", 104)["_score_v"] < THRESHOLD


def test_too_little_history_gives_no_score():
    history = _history(dict(zip(_months("2026-01", MIN_POINTS - 1), [100, 101, 99, 100, 98], strict=False)))
    row = _score(history, "2026-06", 1_000_000)
    assert np.isnan(row["_score_v"]) and row["_points"] == MIN_POINTS - 1
    brand_new = _score(history, "2026-06", 5, unit="U2")    # no history at all
    assert np.isnan(brand_new["_score_v"]) and brand_new["_points"] == 0


def test_constant_series_and_zero_mad_are_scored_without_dividing_by_zero():
    constant = _history(dict(zip(_months("2026-01", 8), [50] * 8, strict=True)))
    assert _score(constant, "2026-09", 50)["_score_v"] == 0
    assert _score(constant, "2026-09", 52)["_score_v"] < THRESHOLD      # 4% off a constant: not an alarm
    assert _score(constant, "2026-09", 100)["_score_v"] > THRESHOLD     # doubled: flagged
    zeros = _history(dict(zip(_months("2026-01", 8), [0] * 8, strict=True)))
    assert _score(zeros, "2026-09", 2)["_score_v"] < THRESHOLD and _score(zeros, "2026-09", 9)["_score_v"] > THRESHOLD
    # MAD 0 but not constant: the mean absolute deviation (x 1.253314) is the scale
    mostly = _history(dict(zip(_months("2026-01", 8), [10, 10, 10, 10, 10, 12, 8, 10], strict=True)))
    row = _score(mostly, "2026-09", 13)
    assert np.isclose(row["_z_v"], 3 / (1.253314 * 0.5), atol=0.01) and row["_score_v"] > THRESHOLD
    # a steady short series: its tiny spread does not make a small change an alarm (floor: 5% of the level)
    steady = _history(dict(zip(_months("2026-01", 3), [100, 101, 100], strict=True)))
    assert _score(steady, "2026-04", 103)["_score_v"] < THRESHOLD < _score(steady, "2026-04", 250)["_score_v"]


def test_scores_are_per_series_and_vectorised():
    history = pd.concat([_history(_seasonal_history(), "U1"),
                         _history({p: v * 10 for p, v in _seasonal_history().items()}, "U2")])
    new = pd.DataFrame({"unit_code": ["U1", "U2", "U1", "U3"], "_pidx": [_idx("2026-06")] * 4,
                        "v": [1000, 1000, 100, 1]})
    scores = outlier_scores(new, history, ["unit_code"], ["v"])
    flagged = (scores["_score_v"] > THRESHOLD).tolist()
    assert flagged == [True, False, False, False] and np.isnan(scores["_score_v"].iloc[3])


# --- end to end: the dossier suite -------------------------------------------------------------------------

AS_OF = dt.date(2026, 12, 31)


def _rows(values: dict[str, float]) -> list[list]:
    return [["TTPVHCC", p, int(v), int(v) // 2, int(v) // 2, int(v) // 2] for p, v in values.items()]


def _quality(engine, name: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(
            "select expectation, severity, column_name, sample from mart.data_quality where file_name like :f"
            " order by check_id"), {"f": f"%/{name}"}).mappings()]


def test_suite_warns_on_a_jump_not_on_a_seasonal_peak(env, engine):
    inbox = env["inbox"]
    write_csv(inbox, "TTPVHCC", "dossier", "history.csv", DOSSIER, _rows(_seasonal_history()))
    first = ingest(as_of=AS_OF)
    assert first.counts() == {"loaded": 1}
    assert _quality(engine, "history.csv") == []                # too new to be scored: no warning, but said so
    with engine.connect() as conn:
        [note] = conn.execute(sa.text("select notes from mart.review_queue where period = '2026-06'")).scalar()
    assert (note["note"], note["column_name"], note["row_count"]) == ("history_too_short", "received_total", 23)
    write_csv(inbox, "TTPVHCC", "dossier", "dec.csv", DOSSIER, _rows({"2026-12": 310}))
    write_csv(inbox, "TTPVHCC", "dossier", "jun.csv", DOSSIER, [["TTPVHCC", "2026-06", 250, 50, 50, 50]])
    summary = ingest(as_of=AS_OF)
    status = {o.file_name.rsplit("/", 1)[-1]: o.status for o in summary.outcomes}
    assert status == {"dec.csv": "loaded", "jun.csv": "loaded_with_warnings"}
    assert _quality(engine, "dec.csv") == []
    [warning] = _quality(engine, "jun.csv")
    assert (warning["expectation"], warning["severity"], warning["column_name"]) == (
        "value_near_history", "warning", "received_total")
    [sample] = warning["sample"]
    assert sample["row"] == 2 and sample["received_total"] == 250 and sample["_median_received_total"] == 100
    assert sample["_points"] == 22 and sample["_last_year_received_total"] == 102
    assert sample["_score_received_total"] > THRESHOLD
