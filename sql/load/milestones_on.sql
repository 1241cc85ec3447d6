-- The milestone in force on each (project group, date) of {pairs} (a relation of those two columns): its date in the
-- year of that date and its required share, as core.project_progress looks them up in core.milestone_calendar. A pair
-- before its group's first milestone has no row. Shared by sql/load/project_status_rows.sql and the load of a unit's
-- first disbursement submissions (tasks/load.py, which looks up the few pairs of its batch).
select d.project_group, d.as_of_date,
       make_date(date_part('year', d.as_of_date)::int, c.milestone_month, c.milestone_day) as milestone_date,
       c.required_pct as milestone_pct
from {pairs} as d(project_group, as_of_date)
join core.milestone_calendar c
  on c.project_group = d.project_group and c.month = date_part('month', d.as_of_date)::int
 and c.day = date_part('day', d.as_of_date)::int
