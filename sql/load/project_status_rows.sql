-- Insert into core.project_status the projects of {rows} (a CTE or table of unit_code, project_code, project_name,
-- project_group, as_of_date, capital_plan_vnd, disbursed_vnd, submission_id: each project's latest current row)
-- with the milestone in force on its as_of_date (progress_pct and status are the table's generated columns, V016).
-- Used by sql/load/refresh_project_status.sql (rows = the CTE `written`).
insert into core.project_status (unit_code, project_code, project_name, project_group, as_of_date, capital_plan_vnd,
                                 disbursed_vnd, submission_id, milestone_date, milestone_pct)
select p.unit_code, p.project_code, p.project_name, p.project_group, p.as_of_date, p.capital_plan_vnd,
       p.disbursed_vnd, p.submission_id, m.milestone_date, m.milestone_pct
from {rows} p
-- looked up once per (project group, date) pair: a batch's rows share a few dates, and joined row by row the
-- calendar (estimated at ~50,000 rows) was merged after a sort of every row
left join (
{milestones}
) m on m.project_group = p.project_group and m.as_of_date = p.as_of_date;
