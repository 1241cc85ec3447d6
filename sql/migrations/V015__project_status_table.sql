-- V015: core.project_status materialised again, with its milestone and status, kept by the load.
--
-- As a view (V005) every read took every current disbursement row through a sort, and mart.disbursement_progress
-- then looked up each project's milestone: at 1 M projects a full read of the mart view took ~5 s, a dashboard's
-- "projects behind schedule" ~1.8 s, every national validation ~2.3 s (the previous cumulative figures), and its
-- row estimate (~190 rows) misled any plan joining it. Now:
--   core.project_progress  the computation (a view): each project at its latest current as_of_date, with the
--                          milestone in force on that date and its status, from the current facts;
--   core.project_status    its rows, a table: replaced per unit by the load in the transaction that changes the
--                          unit's current disbursement slices (sql/load/refresh_project_status.sql), so a reader never
--                          sees a unit half replaced; a project group's rows recomputed when its milestones change
--                          (the catalog load), by the triggers below. mart.disbursement_progress reads it as it is.
drop view core.project_status cascade;  -- mart.disbursement_progress is recreated after the migrations

create view core.project_progress as
with latest as (
    select distinct on (unit_code, project_code)
           unit_code, project_code, project_name, project_group, as_of_date, capital_plan_vnd, disbursed_vnd,
           submission_id
    from core.current_disbursement
    order by unit_code, project_code, as_of_date desc, submission_id desc, source_row desc
),
milestones as (
    select project_group, required_pct,
           split_part(milestone_mmdd, '-', 1)::int as milestone_month,
           split_part(milestone_mmdd, '-', 2)::int as milestone_day
    from core.milestone
),
final as (
    select p.unit_code, p.project_code, p.project_name, p.project_group, p.as_of_date, p.capital_plan_vnd,
           p.disbursed_vnd, p.submission_id,
           round(100.0 * p.disbursed_vnd / nullif(p.capital_plan_vnd, 0), 2) as progress_pct,
           m.milestone_date, m.required_pct as milestone_pct,
           case when m.milestone_date is null then 'not_due'
                when 100.0 * p.disbursed_vnd >= m.required_pct * p.capital_plan_vnd then 'on_track'
                else 'behind' end as status
    from latest p
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
comment on view core.project_progress is
  'Each project at its latest current as_of_date with the milestone in force on that date and its status, computed from the current facts (what core.project_status holds).';

create table core.project_status (
    unit_code         text not null,
    project_code      text not null,
    project_name      text,
    project_group     text not null,
    as_of_date        date not null,
    capital_plan_vnd  bigint not null,
    disbursed_vnd     bigint not null,
    submission_id     bigint not null,
    progress_pct      numeric,
    milestone_date    date,
    milestone_pct     numeric,
    status            text not null check (status in ('on_track', 'behind', 'not_due')),
    primary key (unit_code, project_code)
);
comment on table core.project_status is
  'Each project at its latest current as_of_date, with its milestone and status (the rows of core.project_progress, the grain of mart.disbursement_progress): replaced per unit by the load, per project group when its milestones change.';

insert into core.project_status select * from core.project_progress;
analyze core.project_status;

-- Milestones changed (the catalog load mirrors milestones.csv): the rows of the groups concerned recomputed, in the
-- same transaction. The triggers name their transition table alike, so that one function serves all three.
create function core.refresh_project_milestones() returns trigger
language plpgsql as $$
begin
    if exists (select 1 from changed_milestone) then  -- the catalog load's upsert runs on every `chitieu init`
        delete from core.project_status where project_group in (select project_group from changed_milestone);
        insert into core.project_status
        select * from core.project_progress
        where project_group in (select project_group from changed_milestone);
    end if;
    return null;
end
$$;
create trigger milestone_inserted after insert on core.milestone referencing new table as changed_milestone
    for each statement execute function core.refresh_project_milestones();
create trigger milestone_updated after update on core.milestone referencing new table as changed_milestone
    for each statement execute function core.refresh_project_milestones();
create trigger milestone_deleted after delete on core.milestone referencing old table as changed_milestone
    for each statement execute function core.refresh_project_milestones();
