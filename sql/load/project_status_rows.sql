-- Insert into core.project_status the projects of {rows} (a CTE or table of unit_code, project_code, project_name,
-- project_group, as_of_date, capital_plan_vnd, disbursed_vnd, submission_id: each project's latest current row)
-- with the milestone in force on its as_of_date, its progress and its status (core.progress_pct,
-- core.disbursement_status: the definitions chitieu/project_figures.py follows for the load's COPY).
-- Used by sql/load/refresh_project_status.sql (rows = the CTE `written`).
insert into core.project_status (unit_code, project_code, project_name, project_group, as_of_date, capital_plan_vnd,
                                 disbursed_vnd, submission_id, progress_pct, milestone_date, milestone_pct, status)
select p.unit_code, p.project_code, p.project_name, p.project_group, p.as_of_date, p.capital_plan_vnd,
       p.disbursed_vnd, p.submission_id, core.progress_pct(p.disbursed_vnd, p.capital_plan_vnd), m.milestone_date,
       m.milestone_pct, core.disbursement_status(p.disbursed_vnd, p.capital_plan_vnd, m.milestone_pct)
from {rows} p
-- looked up once per (project group, date) pair: a batch's rows share a few dates, and joined row by row the
-- calendar (estimated at ~50,000 rows) was merged after a sort of every row
left join (
{milestones}
) m on m.project_group = p.project_group and m.as_of_date = p.as_of_date;
