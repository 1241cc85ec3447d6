-- mart.disbursement_progress — grain: one row per project at its latest current as_of_date.
create view mart.disbursement_progress as
with final as (
    -- core.project_status: a table kept by the load, each project with its milestone and status (V015, computed by
    -- core.project_progress); a filter on the view (a unit, a project, a status) reaches its rows directly
    select p.project_code, p.unit_code, p.project_group, p.as_of_date, p.capital_plan_vnd, p.disbursed_vnd,
           p.progress_pct, p.milestone_date, p.milestone_pct, p.status, p.project_name, p.submission_id
    from core.project_status p
)
select * from final;
comment on view mart.disbursement_progress is
  'One row per public-investment project at its latest current as_of_date: progress_pct = disbursed / capital plan, the milestone in force on that date (the last one dated on or before it; "by 06-30" includes 06-30) and status: on_track, behind, or not_due (before the first milestone, or a preparation project).';
comment on column mart.disbursement_progress.project_code is 'Project code as the investor reports it.';
comment on column mart.disbursement_progress.unit_code is 'Investor unit that reports the project.';
comment on column mart.disbursement_progress.project_group is 'completed, transitional, new or preparation: decides the milestones.';
comment on column mart.disbursement_progress.as_of_date is 'Date of the project''s latest current figures.';
comment on column mart.disbursement_progress.capital_plan_vnd is 'Capital plan of the project for the year, VND.';
comment on column mart.disbursement_progress.disbursed_vnd is 'Cumulative disbursement at as_of_date, VND.';
comment on column mart.disbursement_progress.progress_pct is '100 x disbursed_vnd / capital_plan_vnd.';
comment on column mart.disbursement_progress.milestone_date is 'Date of the milestone in force on as_of_date (its MM-DD in the year of as_of_date); NULL before the first one.';
comment on column mart.disbursement_progress.milestone_pct is 'Share of the capital plan required by that milestone, percent.';
comment on column mart.disbursement_progress.status is 'on_track (progress_pct reaches milestone_pct), behind, or not_due (no milestone yet).';
comment on column mart.disbursement_progress.project_name is 'Project name as reported.';
comment on column mart.disbursement_progress.submission_id is 'Submission the figures come from (mart.submission_log).';
