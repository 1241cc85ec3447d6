-- mart.disbursement_progress — grain: one row per project at its latest current as_of_date.
create view mart.disbursement_progress as
with milestones as (
    select project_group, required_pct,
           split_part(milestone_mmdd, '-', 1)::int as milestone_month,
           split_part(milestone_mmdd, '-', 2)::int as milestone_day
    from core.milestone
),
final as (
    -- core.project_status is read once, so that a filter on the view (a unit, a project) reaches its rows
    select p.project_code, p.unit_code, p.project_group, p.as_of_date, p.capital_plan_vnd, p.disbursed_vnd,
           round(100.0 * p.disbursed_vnd / nullif(p.capital_plan_vnd, 0), 2) as progress_pct,
           m.milestone_date, m.required_pct as milestone_pct,
           case when m.milestone_date is null then 'not_due'
                when 100.0 * p.disbursed_vnd >= m.required_pct * p.capital_plan_vnd then 'on_track'
                else 'behind' end as status,
           p.project_name, p.submission_id
    from core.project_status p
    left join lateral (
        -- the milestone in force on as_of_date: the last one dated on or before it
        select make_date(extract(year from p.as_of_date)::int, milestone_month, milestone_day) as milestone_date,
               required_pct
        from milestones
        where project_group = p.project_group
          and make_date(extract(year from p.as_of_date)::int, milestone_month, milestone_day) <= p.as_of_date
        order by 1 desc
        limit 1
    ) m on true
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
