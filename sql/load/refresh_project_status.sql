-- Bring core.project_status (V015: each project at its latest current as_of_date, with its milestone and status)
-- up to date for the units of disbursement submissions :ids, after sql/load/refresh_current.sql, in the same
-- transaction: a reader sees each unit's projects before or after the load, never half of them. One statement, so
-- that what it decides from the table's rows (kept) and what it writes agree.
--
-- :new_submissions is true when the load has just claimed every submission of :ids (sql/load/after_facts.sql after
-- a COPY), false when they existed before (a rerun: their facts replaced in place, or gone with a rejection).
--
-- The table holds latest(F): for each project the current fact with the highest (as_of_date, submission_id,
-- source_row), the order of core.project_progress. A load removes the facts R of the slices whose current submission
-- changed and adds the facts A of the slices the new submissions are now current for. When no row of the table is in
-- R, latest(F - R) is the table as it is (removing facts that are no one's latest leaves every latest in place, and
-- a project whose every fact were in R would have its latest in R), so latest(F - R + A) is the table with each
-- project of A upserted where A's latest row is newer: only the new submissions' facts are read. A row is in R when
-- the slice it came from (disbursement slices are per unit and month of as_of_date, tasks/parse.py::_slice_keys) is
-- no longer current with the row's submission: superseded by a correction, or gone with a rejection. A unit for which
-- that may happen otherwise is recomputed whole from all its current facts, as before: a rerun (its slices may have
-- gone back to an older version the load does not read) and a unit with a row of a resubmitted id.
-- Every other case is the incremental one, late older months included: their rows are older than the table's.
-- Hash joins only, for this statement: the statistics of the fact table and of this one lag behind a load (analyze
-- runs after large loads only), and estimated at a few hundred rows a join would probe the fact table's new
-- submissions once per slice (100 slices: ~3.5 s for a 30,000-row batch) and this table's BRIN index once per unit
-- (its newest block ranges unsummarised during a load: each probe read the whole table). Restored after it.
-- This table is read once. For a few units ({probe_max_units} at most: a correction, a late file) through its BRIN
-- index, by their codes: one unit's correction reads the block ranges that hold its projects (~0.01 s after a
-- national load, whose ranges the load summarises: tasks/load.py::after_large_load) where a pass over the table read
-- a million projects (~0.27 s); for more units, whose codes are spread over the table (loads split units by size,
-- not by code), in one pass. The rows replaced are deleted by the row ids (ctid) read then, without a second read
-- (~0.15 s less per batch of ~280 units in a national month; the load's unit locks keep the rows where they were).
-- For a few units, no sequential scans where there is another way: right after a national load the table has no
-- statistics yet (autovacuum analyses it within a minute or so), and the planner, blind to how its rows are
-- ordered, would read it whole for one unit. (Not for more: with them off, a month's national pass spent 15-40 s
-- in this statement instead of 5.)
-- The sort of the distinct-on below holds a batch's facts (~80,000 rows): in memory, not in temporary files (4 MB,
-- PostgreSQL's default, spilled every batch to disk: ~0.35 s each).
set local enable_nestloop = off;
-- (counted over the touched units, which the `known` ones below are among: a batch that turns them off always takes
-- the by-unit read)
select set_config('enable_seqscan',
                  case when (select count(distinct unit_code) from audit.submission
                             where submission_id = any(:ids) and feed = 'disbursement') <= {probe_max_units}
                       then 'off' else 'on' end, true);
set local work_mem = '64MB';

with touched as materialized (
    select distinct unit_code from audit.submission
    where submission_id = any(:ids) and feed = 'disbursement'
),
-- the touched units that may have rows in the table: on a rerun all of them, else those with a disbursement
-- submission besides :ids (a row's submission is one of its unit's, and :ids were claimed just now). For a unit's
-- first submissions there is nothing to keep or remove, and when no touched unit has one, the joins below end on an
-- empty side without reading the table (a national first month).
known as materialized (
    select t.unit_code from touched t
    where not cast(:new_submissions as boolean)
       or exists (select from audit.submission s
                  where s.unit_code = t.unit_code and s.feed = 'disbursement' and s.submission_id <> all(:ids))
),
-- A few units' rows through the BRIN index (`unit_code = any(array)`: each row of their block ranges is checked
-- against every code, which for 400 units took ~10 s per batch), else every row in one pass, hash-joined; each branch
-- runs only when its condition holds.
kept as materialized (
    select p.ctid as row_id, p.unit_code, p.project_code, p.as_of_date, p.submission_id
    from core.project_status p
    where (select count(*) from known) <= {probe_max_units}
      and p.unit_code = any(array(select unit_code from known))
    union all
    select p.ctid, p.unit_code, p.project_code, p.as_of_date, p.submission_id
    from core.project_status p
    join known t on t.unit_code = p.unit_code
    where (select count(*) from known) > {probe_max_units}
),
recomputed as materialized (
    select unit_code from touched where not cast(:new_submissions as boolean)
    union
    select k.unit_code from kept k
    where k.submission_id = any(:ids)
       or not exists (select from core.current_slice c
                      where c.unit_code = k.unit_code and c.feed = 'disbursement'
                        and c.slice_key = to_char(k.as_of_date, 'YYYY-MM') and c.submission_id = k.submission_id)
),
-- the current slices of the units recomputed whole, and the slices the new submissions are current for elsewhere
slices as materialized (
    select c.unit_code, c.slice_key, c.submission_id
    from core.current_slice c
    where c.feed = 'disbursement' and c.unit_code = any(array(select unit_code from recomputed))
),
new_slices as materialized (
    select c.unit_code, c.slice_key, c.submission_id
    from core.current_slice c
    where c.submission_id = any(:ids) and c.feed = 'disbursement'
      and c.unit_code <> all(array(select unit_code from recomputed))
),
-- The facts of those slices, each side in one pass over the block ranges of the submission ids it spans (the fact
-- table's BRIN index), then hash-joined to the slices: one probe of the index per slice read ~40 ranges each after a
-- national load (two load lanes fill interleaved blocks) and cost ~5 ms per unit. The new submissions span a narrow
-- range; a unit recomputed whole spans its months.
facts as (
    select c.unit_code, f.project_code, f.project_name, f.project_group, f.as_of_date, f.capital_plan_vnd,
           f.disbursed_vnd, f.submission_id, f.source_row
    from core.fact_disbursement f
    join slices c on c.submission_id = f.submission_id and c.slice_key = f.slice_key and c.unit_code = f.unit_code
    where f.submission_id between coalesce((select min(submission_id) from slices), 0)
                              and coalesce((select max(submission_id) from slices), -1)
    union all
    select c.unit_code, f.project_code, f.project_name, f.project_group, f.as_of_date, f.capital_plan_vnd,
           f.disbursed_vnd, f.submission_id, f.source_row
    from core.fact_disbursement f
    join new_slices c on c.submission_id = f.submission_id and c.slice_key = f.slice_key and c.unit_code = f.unit_code
    where f.submission_id between coalesce((select min(submission_id) from new_slices), 0)
                              and coalesce((select max(submission_id) from new_slices), -1)
      and f.submission_id = any(:ids)
),
latest as (
    select distinct on (unit_code, project_code)
           unit_code, project_code, project_name, project_group, as_of_date, capital_plan_vnd, disbursed_vnd,
           submission_id
    from facts
    order by unit_code, project_code, as_of_date desc, submission_id desc, source_row desc
),
-- the rows written: every project of a unit recomputed whole; elsewhere a project new to the table or newer than its
-- row (a row of the new submissions never ties with a kept one: a unit whose row's slice is theirs is recomputed)
written as materialized (
    select l.*
    from latest l
    left join kept k on k.unit_code = l.unit_code and k.project_code = l.project_code
    where k.unit_code is null
       or (l.as_of_date, l.submission_id) > (k.as_of_date, k.submission_id)
       or l.unit_code in (select unit_code from recomputed)
),
removed as (
    delete from core.project_status p
    where p.ctid = any(array(
        select k.row_id from kept k
        where k.unit_code in (select unit_code from recomputed)
           or (k.unit_code, k.project_code) in (select unit_code, project_code from written)))
)
{insert_rows}

set local enable_nestloop to default;
set local enable_seqscan to default;
set local work_mem to default;
