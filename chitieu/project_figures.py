"""A project's progress_pct and status, as core.progress_pct and core.disbursement_status compute them (V015, V017),
in vectorised integer arithmetic: for the load's COPY of a unit's first projects into core.project_status.

The definitions stay in SQL. This module gives the same answer where integer arithmetic provably equals
PostgreSQL's numeric, and leaves every other row to PostgreSQL (`unsure`: tasks/load.py asks the SQL functions for
them, sql/load/project_figures.sql):
- progress_pct = round(100.0 * disbursed / plan, 2). PostgreSQL divides to at least 16 significant digits, then
  rounds half away from zero. For |disbursed|, |plan| < 10^13 and |disbursed| < 100 |plan| (a quotient below
  10,000 %), a quotient that is not exactly on a half-cent lies at least 1 / (200 |plan|) > 0.5e-16 from one, so
  that first rounding never crosses it, and the result is the exact quotient rounded half away from zero:
  (20000 |d| + |p|) // (2 |p|) hundredths.
- status = not_due without a milestone, on_track when 100.0 * disbursed >= milestone_pct * plan, else behind: an
  exact comparison in PostgreSQL (numeric multiplication does not round), made here on integers: with milestone_pct =
  m / 10^s, 100 * disbursed * 10^s >= m * plan, in int64 for the rows where both sides stay below 2^62.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["EXACT_BELOW", "project_figures"]

EXACT_BELOW = 10**13  # |VND| from which a row's figures are left to PostgreSQL (see the module's docstring)
_INT64_SAFE = 2**62


def _integers(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """The values as int64, as the binary COPY writes them (chitieu.pg_binary), and where they are missing."""
    missing = column.is_null().to_numpy(zero_copy_only=False)
    values = pc.fill_null(column, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    return values, np.asarray(missing, dtype=bool)


def _hundredths_text(hundredths: np.ndarray) -> pa.Array:
    """Decimal texts with 2 places ('62.50', '-0.25') of integer hundredths, dictionary-encoded (one text per
    distinct value: a batch's progress takes at most ~10,000 values)."""
    distinct, codes = np.unique(hundredths, return_inverse=True)
    texts = [f"{'-' if h < 0 else ''}{abs(h) // 100}.{abs(h) % 100:02d}" for h in distinct.tolist()]
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(texts, pa.string()))


def _status(disbursed: np.ndarray, plan: np.ndarray, milestone_pct: pa.Array,
            unsure: np.ndarray) -> np.ndarray:
    """Status codes per row (0 not_due, 1 on_track, 2 behind); rows it cannot decide exactly are marked in
    `unsure` (changed in place)."""
    status = np.zeros(len(plan), dtype=np.int8)
    coded = pc.dictionary_encode(milestone_pct.cast(pa.string()))
    indices = pc.fill_null(coded.indices, -1).to_numpy(zero_copy_only=False)
    for k, text in enumerate(coded.dictionary.to_pylist()):
        rows = indices == k
        sign, digits, exponent = Decimal(text).as_tuple()
        if not isinstance(exponent, int):  # NaN
            unsure |= rows
            continue
        scaled = int("".join(map(str, digits)) or "0") * (-1 if sign else 1) * 10 ** max(0, exponent)
        scale = max(0, -exponent)
        left_factor, right_factor = 100 * 10 ** scale, scaled
        # the rows whose two products stay below 2^62 in int64 (PostgreSQL takes the others)
        exact = rows & (np.abs(disbursed) < _INT64_SAFE // left_factor)
        if right_factor:
            exact &= np.abs(plan) < _INT64_SAFE // abs(right_factor)
        unsure |= rows & ~exact
        on_track = disbursed[exact] * left_factor >= plan[exact] * right_factor
        status[exact] = np.where(on_track, 1, 2)
    return status


_STATUS_TEXTS = pa.array(["not_due", "on_track", "behind"], pa.string())


def project_figures(disbursed: pa.Array | pa.ChunkedArray, plan: pa.Array | pa.ChunkedArray,
                    milestone_pct: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array, np.ndarray]:
    """(progress_pct as decimal texts, status, positions of the rows left to PostgreSQL: their two values here are
    placeholders) for rows of disbursed_vnd, capital_plan_vnd and milestone_pct (decimal texts, null where no
    milestone is in force)."""
    milestone_pct = milestone_pct.combine_chunks() if isinstance(milestone_pct, pa.ChunkedArray) else milestone_pct
    d, d_missing = _integers(disbursed)
    p, p_missing = _integers(plan)
    unsure = (d_missing | p_missing | (d >= EXACT_BELOW) | (d <= -EXACT_BELOW) | (p >= EXACT_BELOW)
              | (p <= -EXACT_BELOW))
    d, p = np.where(unsure, 0, d), np.where(unsure, 1, p)  # placeholders where PostgreSQL decides
    unsure |= (p != 0) & (np.abs(d) >= 100 * np.abs(p))  # a quotient of 10,000 % or more
    no_plan = p == 0
    divisor = np.where(unsure | no_plan, 1, np.abs(p))
    numerator = np.where(unsure, 0, np.abs(d))
    hundredths = (20_000 * numerator + divisor) // (2 * divisor)
    progress = _hundredths_text(np.where((d < 0) != (p < 0), -hundredths, hundredths))
    if no_plan.any():
        progress = pc.if_else(pa.array(no_plan), pa.scalar(None, pa.string()), progress.cast(pa.string()))
    status = _STATUS_TEXTS.take(pa.array(_status(d, p, milestone_pct, unsure)))
    return progress, status, np.flatnonzero(unsure)
