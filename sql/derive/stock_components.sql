-- Month-end numerators and denominators of the stock metrics (tasks, disbursement) for :units, for every month
-- of each calendar year they have data in, up to the as-of month, evaluated at min(month end, :as_of); for
-- disbursement, only from each unit's month in :since on (the same position as its code in :units; null: every
-- month): the months before it have not changed, and sql/derive/metric_values.sql keeps their rows.
-- A year's stock counts that year only (the year to date restarts each January): the tasks due in it, and the
-- disbursement snapshots dated in it (a year's capital plan is disbursed and reported within that year).
-- A unit's month is settled when none of its current disbursement rows is dated after the month's evaluation date:
-- each project's latest row of that year is then its row in core.project_status (the latest of all its current
-- rows, kept by the load), one row per project whatever the months behind it. Only the other months (a correction
-- or a late file for a month before a unit's latest figures, rows dated after the as-of date) read the unit's
-- current rows of their years and follow each project's figures from date to date.
-- Grain: one row per metric, unit and month.
create temp table stock_component on commit drop as
with first_months as materialized (
    -- a disbursement slice is the month of its rows' as_of_date (tasks/parse.py::_slice_keys): from the current
    -- slices, not from a read of every current fact, each unit's first month of each year with figures (no figure is
    -- dated on or before an earlier month's end)
    select unit_code, left(slice_key, 4)::int as year, min(slice_key) as first_month
    from core.current_slice
    where unit_code = any(:units) and feed = 'disbursement' and 'disbursement' = any(:feeds)
    group by unit_code, left(slice_key, 4)::int
),
data_years as (
    select distinct extract(year from due_date)::int as year
    from core.current_tasks where unit_code = any(:units) and 'tasks' = any(:feeds)
    union
    select distinct year from first_months
),
month_ends as (
    select y.year, to_char(m, 'YYYY-MM') as period,
           least((m + interval '1 month - 1 day')::date, cast(:as_of as date)) as evaluated_on
    from data_years y
    cross join lateral generate_series(make_date(y.year, 1, 1),
                                       least(make_date(y.year, 12, 1), date_trunc('month', cast(:as_of as date))),
                                       interval '1 month') as m
    where y.year <= extract(year from cast(:as_of as date))
),
tasks as (
    select t.unit_code, m.period,
           count(*) filter (where t.completed_date <= m.evaluated_on and t.completed_date <= t.due_date)
               as completed_on_time,
           count(*) filter (where t.completed_date <= m.evaluated_on or t.due_date < m.evaluated_on)
               as completed_or_overdue
    from core.current_tasks t
    join month_ends m on m.year = extract(year from t.due_date)::int
    where t.unit_code = any(:units) and 'tasks' = any(:feeds)
    group by t.unit_code, m.period
),
unit_since as materialized (
    select unit_code, since
    from unnest(cast(:units as text[]), cast(:since as text[])) as u(unit_code, since)
    where 'disbursement' = any(:feeds)
),
status_years as materialized (
    -- per unit and year: its projects' latest rows (core.project_status) dated in that year, added up, and the
    -- latest of their dates
    select unit_code, extract(year from as_of_date)::int as year, max(as_of_date) as latest,
           sum(disbursed_vnd) as disbursed_vnd, sum(capital_plan_vnd) as capital_plan_vnd
    from core.project_status
    where unit_code = any(:units) and 'disbursement' = any(:feeds)
    group by unit_code, extract(year from as_of_date)::int
),
unit_latest as (
    select unit_code, max(latest) as latest from status_years group by unit_code
),
disbursement_months as materialized (
    select s.unit_code, m.year, m.period, m.evaluated_on, m.evaluated_on >= l.latest as settled
    from unit_since s
    join unit_latest l using (unit_code)
    join first_months f using (unit_code)
    join month_ends m on m.year = f.year and m.period >= f.first_month and (s.since is null or m.period >= s.since)
),
settled as (
    select m.unit_code, m.period, y.disbursed_vnd, y.capital_plan_vnd
    from disbursement_months m
    join status_years y on y.unit_code = m.unit_code and y.year = m.year
    where m.settled
),
unsettled_years as (
    select distinct unit_code, year from disbursement_months where not settled
),
disbursement_spans as (
    -- each current row is a project's latest figure of its year from its as_of_date until the next one
    select c.unit_code, c.project_code, c.as_of_date, c.capital_plan_vnd, c.disbursed_vnd,
           lead(c.as_of_date) over (partition by c.unit_code, c.project_code, extract(year from c.as_of_date)
                                    order by c.as_of_date) as superseded_on
    from core.current_disbursement c
    where c.unit_code in (select unit_code from unsettled_years)
      and (c.unit_code, extract(year from c.as_of_date)::int) in (select unit_code, year from unsettled_years)
),
disbursement_steps as (
    -- projects of a unit with the same span add up before meeting the months (a few rows per unit, not one
    -- per project and month)
    select unit_code, as_of_date, superseded_on,
           sum(disbursed_vnd) as disbursed_vnd, sum(capital_plan_vnd) as capital_plan_vnd
    from disbursement_spans
    group by unit_code, as_of_date, superseded_on
),
unsettled as (
    select d.unit_code, m.period, sum(d.disbursed_vnd) as disbursed_vnd, sum(d.capital_plan_vnd) as capital_plan_vnd
    from disbursement_steps d
    join disbursement_months m on m.unit_code = d.unit_code and not m.settled
                              and m.year = extract(year from d.as_of_date)::int
                              and d.as_of_date <= m.evaluated_on
                              and (d.superseded_on is null or d.superseded_on > m.evaluated_on)
    group by d.unit_code, m.period
),
disbursement as (
    select * from settled
    union all
    select * from unsettled
)
select 'task_on_time_rate' as metric_code, unit_code, period,
       completed_on_time::numeric as numerator, completed_or_overdue::numeric as denominator
from tasks
union all
select 'disbursement_rate', unit_code, period, disbursed_vnd, capital_plan_vnd from disbursement
