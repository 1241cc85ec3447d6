-- Replace core.project_status's rows (V015: each project at its latest current as_of_date, with its milestone and
-- status) of the units whose disbursement submissions :ids are, after sql/load/refresh_current.sql, in the same
-- transaction: a reader sees each unit's projects before or after the load, never half of them.
-- (a join, not `unit_code = any(array)`: the BRIN index returns whole block ranges, and rechecking each of their rows
-- against an array of 400 units took ~10 s per batch)
delete from core.project_status p
using (select distinct unit_code from audit.submission
       where submission_id = any(:ids) and feed = 'disbursement') touched
where p.unit_code = touched.unit_code;

-- The rows of core.project_progress for those units (tests check the two agree after every kind of load). Their
-- current facts are read in one pass over the block ranges of the submission ids they span (the fact table's BRIN
-- index), then hash-joined to the slices: one probe of the index per slice read ~40 ranges each after a national
-- load (two load lanes fill interleaved blocks) and cost ~5 ms per unit.
insert into core.project_status
with slices as materialized (
    select c.unit_code, c.slice_key, c.submission_id
    from core.current_slice c
    where c.feed = 'disbursement'
      and c.unit_code = any(array(select distinct unit_code from audit.submission
                                  where submission_id = any(:ids) and feed = 'disbursement'))
),
facts as (
    select c.unit_code, f.project_code, f.project_name, f.project_group, f.as_of_date, f.capital_plan_vnd,
           f.disbursed_vnd, f.submission_id, f.source_row
    from core.fact_disbursement f
    join slices c on c.submission_id = f.submission_id and c.slice_key = f.slice_key and c.unit_code = f.unit_code
    where f.submission_id between (select min(submission_id) from slices) and (select max(submission_id) from slices)
),
latest as (
    select distinct on (unit_code, project_code)
           unit_code, project_code, project_name, project_group, as_of_date, capital_plan_vnd, disbursed_vnd,
           submission_id
    from facts
    order by unit_code, project_code, as_of_date desc, submission_id desc, source_row desc
)
select p.unit_code, p.project_code, p.project_name, p.project_group, p.as_of_date, p.capital_plan_vnd,
       p.disbursed_vnd, p.submission_id,
       round(100.0 * p.disbursed_vnd / nullif(p.capital_plan_vnd, 0), 2) as progress_pct,
       make_date(date_part('year', p.as_of_date)::int, m.milestone_month, m.milestone_day) as milestone_date,
       m.required_pct as milestone_pct,
       core.disbursement_status(p.disbursed_vnd, p.capital_plan_vnd, m.required_pct) as status
from latest p
left join core.milestone_calendar m
  on m.project_group = p.project_group and m.month = date_part('month', p.as_of_date)::int
 and m.day = date_part('day', p.as_of_date)::int
