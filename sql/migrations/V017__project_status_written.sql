-- core.project_status's progress_pct and status become plain columns, written with the rest of the row.
--
-- As generated columns (V016) the table computed them on every row it received: ~0.55 s of PostgreSQL per million
-- rows COPYed (a generated column costs the row's formation again, ~0.15 s per million even for a constant), on the
-- load's critical path, where the first month of a national pass writes a million projects. Their definitions stay
-- in SQL, once: core.progress_pct and core.disbursement_status (V015). Every writer of the table uses them (the
-- incremental refresh, sql/load/project_status_rows.sql; the milestone trigger below, through core.project_progress),
-- except the load's COPY of a unit's first projects, which computes the same in Arrow (chitieu/project_figures.py)
-- and is held to them by tests/flows/test_project_status.py (every load compared with core.project_progress, ties
-- and half-cents included).
alter table core.project_status alter column progress_pct drop expression;
alter table core.project_status alter column status drop expression;

create function core.progress_pct(disbursed_vnd bigint, capital_plan_vnd bigint)
returns numeric language sql immutable as $$
    select round(100.0 * disbursed_vnd / nullif(capital_plan_vnd, 0), 2)
$$;
comment on function core.progress_pct(bigint, bigint) is
  'Disbursed as a percent of the capital plan, rounded to 2 decimals (half away from zero); NULL without a plan.';

create or replace view core.project_progress as
with latest as (
    select distinct on (unit_code, project_code)
           unit_code, project_code, project_name, project_group, as_of_date, capital_plan_vnd, disbursed_vnd,
           submission_id
    from core.current_disbursement
    order by unit_code, project_code, as_of_date desc, submission_id desc, source_row desc
),
final as (
    select p.unit_code, p.project_code, p.project_name, p.project_group, p.as_of_date, p.capital_plan_vnd,
           p.disbursed_vnd, p.submission_id,
           core.progress_pct(p.disbursed_vnd, p.capital_plan_vnd) as progress_pct,
           make_date(date_part('year', p.as_of_date)::int, m.milestone_month, m.milestone_day) as milestone_date,
           m.required_pct as milestone_pct,
           core.disbursement_status(p.disbursed_vnd, p.capital_plan_vnd, m.required_pct) as status
    from latest p
    left join core.milestone_calendar m
      on m.project_group = p.project_group and m.month = date_part('month', p.as_of_date)::int
     and m.day = date_part('day', p.as_of_date)::int
)
select * from final;

create or replace function core.refresh_project_milestones() returns trigger
language plpgsql as $$
begin
    if exists (select 1 from changed_milestone) then  -- the catalog load's upsert runs on every `chitieu init`
        -- loads replacing units' rows finish first and wait for this transaction: the rows recomputed below see them
        lock table core.project_status in share row exclusive mode;
        delete from core.project_status where project_group in (select project_group from changed_milestone);
        insert into core.project_status (unit_code, project_code, project_name, project_group, as_of_date,
                                         capital_plan_vnd, disbursed_vnd, submission_id, progress_pct,
                                         milestone_date, milestone_pct, status)
        select unit_code, project_code, project_name, project_group, as_of_date, capital_plan_vnd, disbursed_vnd,
               submission_id, progress_pct, milestone_date, milestone_pct, status
        from core.project_progress
        where project_group in (select project_group from changed_milestone);
    end if;
    return null;
end
$$;

comment on table core.project_status is
  'Each project at its latest current as_of_date, with its milestone and status (the rows of core.project_progress, the grain of mart.disbursement_progress): replaced per unit by the load, per project group when its milestones change. progress_pct and status are written with the row (core.progress_pct, core.disbursement_status; V017).';
