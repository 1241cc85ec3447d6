"""Each project's latest row in a batch of disbursement facts, computed in Arrow: what sql/load/
refresh_project_status.sql picks with `distinct on`, for a load that holds every current row of its units."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chitieu.arrow_keys import pair_key

__all__ = ["latest_per_project", "with_milestones"]

# the order of core.project_progress: a project's latest row has the highest (as_of_date, submission_id, source_row);
# missing values where PostgreSQL puts them (last ascending, first descending)
_NEWEST_FIRST = [("unit_code", "ascending", "at_end"), ("project_code", "ascending", "at_end"),
                 ("as_of_date", "descending", "at_start"), ("submission_id", "descending", "at_start"),
                 ("source_row", "descending", "at_start")]


def latest_per_project(facts: pa.Table, current: set[tuple[int, str]]) -> pa.Table:
    """The rows of `facts` (submission_id, slice_key, source_row, unit_code, project_code, as_of_date, ...) whose
    (submission_id, slice_key) is in `current`, one per (unit_code, project_code): its latest."""
    pairs = list(current)
    wanted = pair_key(pa.array([sid for sid, _ in pairs], pa.int64()),
                      pa.array([key for _, key in pairs], pa.string()))
    slices = pair_key(facts.column("submission_id"), facts.column("slice_key"))
    keep = pc.fill_null(pc.is_in(slices, value_set=wanted), False)
    if not pc.all(keep).as_py():
        facts = facts.filter(keep)
    ordered = facts.take(pc.sort_indices(facts, sort_keys=_NEWEST_FIRST))
    if ordered.num_rows < 2:
        return ordered
    unit, project = (ordered.column(name).combine_chunks() for name in ("unit_code", "project_code"))
    same = pc.and_(pc.equal(unit[1:], unit[:-1]), pc.equal(project[1:], project[:-1]))
    first = np.concatenate([[True], ~pc.fill_null(same, False).to_numpy(zero_copy_only=False)])
    return ordered.filter(pa.array(first))


def with_milestones(latest: pa.Table, found: list[tuple]) -> pa.Table:
    """core.project_status's written columns for `latest` (in its order): its project columns and the milestone of
    each row's (project_group, as_of_date) from `found` (project_group, as_of_date, milestone_date, milestone_pct
    as text: none where no milestone is in force yet)."""
    found_keys = pair_key(pa.array([f[0] for f in found], pa.string()), pa.array([f[1] for f in found], pa.date32()))
    at = pc.index_in(pair_key(latest.column("project_group"), latest.column("as_of_date")), value_set=found_keys)
    columns = {name: latest.column(name) for name in _WRITTEN}
    columns["milestone_date"] = pa.array([f[2] for f in found], pa.date32()).take(at)
    columns["milestone_pct"] = pa.array([f[3] for f in found], pa.string()).take(at)
    return pa.table(columns)


_WRITTEN = ["unit_code", "project_code", "project_name", "project_group", "as_of_date", "capital_plan_vnd",
            "disbursed_vnd", "submission_id"]
