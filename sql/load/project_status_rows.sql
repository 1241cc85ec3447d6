-- Insert into core.project_status the projects of {rows} (a CTE or table of unit_code, project_code, project_name,
-- project_group, as_of_date, capital_plan_vnd, disbursed_vnd, submission_id: each project's latest current row)
-- with the milestone in force on its as_of_date and its status, as core.project_progress computes them. Shared by
-- sql/load/refresh_project_status.sql (rows = the CTE `written`) and the load of a unit's first disbursement
-- submissions (rows = pg_temp.batch_project, its latest rows computed by the load: tasks/load.py).
insert into core.project_status
select p.unit_code, p.project_code, p.project_name, p.project_group, p.as_of_date, p.capital_plan_vnd,
       p.disbursed_vnd, p.submission_id,
       round(100.0 * p.disbursed_vnd / nullif(p.capital_plan_vnd, 0), 2) as progress_pct,
       make_date(date_part('year', p.as_of_date)::int, m.milestone_month, m.milestone_day) as milestone_date,
       m.required_pct as milestone_pct,
       core.disbursement_status(p.disbursed_vnd, p.capital_plan_vnd, m.required_pct) as status
from {rows} p
-- the milestone in force on each (project group, date) of the rows, looked up once per pair: a batch's rows share a
-- few dates, and joined row by row the calendar (estimated at ~50,000 rows) was merged after a sort of every row
left join (
    select d.project_group, d.as_of_date, c.milestone_month, c.milestone_day, c.required_pct
    from (select distinct project_group, as_of_date from {rows}) d
    join core.milestone_calendar c
      on c.project_group = d.project_group and c.month = date_part('month', d.as_of_date)::int
     and c.day = date_part('day', d.as_of_date)::int
) m on m.project_group = p.project_group and m.as_of_date = p.as_of_date;
