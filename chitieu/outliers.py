"""Seasonal outlier scores against a unit's own history: DHIS2's modified z-score, with last year's same period.

For each new value x of a series (a unit's measure, or a unit's indicator), its history is the series' other
periods already in the warehouse (current data; the period x reports is left out, since x replaces it):

    z = 0.6745 · (x − median) / MAD            (MOD_Z_SCORE; MAD = median absolute deviation from the median)

written here as (x − median) / scale with scale = MAD / 0.6745. When MAD is 0 (more than half the points equal),
scale = 1.253314 · mean absolute deviation (as DHIS2 and SPSS do). The scale is never below 5% of the median (1
when the median is 0 and the series constant): a very steady or constant series (a short one above all) is not
flagged for a change of less than 3.5 × 5% ≈ 17% of its level, and a constant series never divides by zero.
Where the series has a value for the same period a year before (12 months earlier), the seasonal score is
(x − that value) / scale, and the score that decides is the smaller of the two: a December peak seen last December
is not flagged, a jump seen neither in the series nor a year before is. Fewer than MIN_POINTS other periods: no
score (NaN), never an alarm. Everything is computed per feed at once (one merge and a few group-bys), not per row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["MIN_POINTS", "THRESHOLD", "outlier_scores"]

THRESHOLD = 3.5          # DHIS2's default for MOD_Z_SCORE
MIN_POINTS = 3           # other periods needed before a value is scored
SEASON_LAG = 12          # months back to the same period of the previous year
_MAD_TO_SIGMA = 0.6745
_MEAN_AD_TO_SIGMA = 1.253314
_LEVEL_SHARE = 0.05      # the scale's floor, as a share of the median


def outlier_scores(new: pd.DataFrame, history: pd.DataFrame, keys: list[str], measures: list[str]) -> pd.DataFrame:
    """Score each row of `new` (columns keys, `_pidx` month index, measures) against `history` (same columns).

    Returns a frame aligned with `new` holding, per measure m: `_score_m` (the deciding score, NaN when not
    scored), `_z_m` (signed modified z-score), `_median_m`, `_last_year_m` (the value 12 months earlier, if any),
    and `_points` (how many other periods the history has)."""
    out = pd.DataFrame(index=new.index)
    base = new[[*keys, "_pidx"]].reset_index(drop=True)
    base["_rid"] = np.arange(len(base))
    hist = history[[*keys, "_pidx", *measures]].dropna(subset=["_pidx"])
    hist = hist.astype({"_pidx": base["_pidx"].dtype})  # an empty history has object columns: merge needs one type
    pairs = base.merge(hist, on=keys, how="inner", suffixes=("", "_h"))
    pairs = pairs[pairs["_pidx_h"] != pairs["_pidx"]]
    points = pairs.groupby("_rid").size().reindex(base["_rid"], fill_value=0).to_numpy()
    out["_points"] = points
    season = base.assign(_pidx=base["_pidx"] - SEASON_LAG).merge(
        hist.drop_duplicates([*keys, "_pidx"]), on=[*keys, "_pidx"], how="left")
    for m in measures:
        x = pd.to_numeric(new[m], errors="coerce").astype("float64").to_numpy()
        values = pairs[["_rid", m]].dropna()
        grouped = values.groupby("_rid")[m]
        median = grouped.median()
        deviation = (values[m] - values["_rid"].map(median)).abs()
        by_rid = deviation.groupby(values["_rid"])
        mad, mean_ad = by_rid.median(), by_rid.mean()
        median_a = median.reindex(base["_rid"]).to_numpy(dtype="float64")
        mad_a = mad.reindex(base["_rid"]).to_numpy(dtype="float64")
        mean_ad_a = mean_ad.reindex(base["_rid"]).to_numpy(dtype="float64")
        count = grouped.size().reindex(base["_rid"], fill_value=0).to_numpy()
        scale = np.where(mad_a > 0, mad_a / _MAD_TO_SIGMA, _MEAN_AD_TO_SIGMA * mean_ad_a)
        scale = np.fmax(scale, _LEVEL_SHARE * np.abs(median_a))
        scale = np.where(scale > 0, scale, 1.0)
        z = (x - median_a) / scale
        last_year = pd.to_numeric(season[m], errors="coerce").astype("float64").to_numpy()
        seasonal = np.abs(x - last_year) / scale
        score = np.where(np.isnan(seasonal), np.abs(z), np.fmin(np.abs(z), seasonal))
        scored = count >= MIN_POINTS
        out[f"_score_{m}"] = np.where(scored, np.round(score, 2), np.nan)
        out[f"_z_{m}"] = np.where(scored, np.round(z, 2), np.nan)
        out[f"_median_{m}"] = np.where(scored, median_a, np.nan)
        out[f"_last_year_{m}"] = np.where(scored, last_year, np.nan)
    return out
