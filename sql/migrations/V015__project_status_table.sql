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

create view core.milestone_calendar as
with milestones as (
    select project_group, required_pct,
           split_part(milestone_mmdd, '-', 1)::int as milestone_month,
           split_part(milestone_mmdd, '-', 2)::int as milestone_day
    from core.milestone
),
days as (
    select month, day from generate_series(1, 12) as m(month) cross join generate_series(1, 31) as d(day)
),
final as (
    -- the milestone in force on a month and day: the last one of its group dated on or before it in the same year
    select distinct on (m.project_group, d.month, d.day)
           m.project_group, d.month, d.day, m.milestone_month, m.milestone_day, m.required_pct
    from milestones m join days d on (m.milestone_month, m.milestone_day) <= (d.month, d.day)
    order by m.project_group, d.month, d.day, m.milestone_month desc, m.milestone_day desc
)
select * from final;
comment on view core.milestone_calendar is
  'One row per project group and day of the year (month, day) on or after its first milestone: the milestone in force on that day (the last one dated on or before it; "by 06-30" includes 06-30). Joined by equality, where a lookup per project cost ~12 s per million projects.';

create function core.disbursement_status(disbursed_vnd bigint, capital_plan_vnd bigint, milestone_pct numeric)
returns text language sql immutable as $$
    select case when milestone_pct is null then 'not_due'
                when 100.0 * disbursed_vnd >= milestone_pct * capital_plan_vnd then 'on_track'
                else 'behind' end
$$;
comment on function core.disbursement_status(bigint, bigint, numeric) is
  'on_track (disbursed reaches the required share of the capital plan), behind, or not_due (no milestone in force).';

create view core.project_progress as
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
           round(100.0 * p.disbursed_vnd / nullif(p.capital_plan_vnd, 0), 2) as progress_pct,
           make_date(date_part('year', p.as_of_date)::int, m.milestone_month, m.milestone_day) as milestone_date,
           m.required_pct as milestone_pct,
           core.disbursement_status(p.disbursed_vnd, p.capital_plan_vnd, m.required_pct) as status
    from latest p
    left join core.milestone_calendar m
      on m.project_group = p.project_group and m.month = date_part('month', p.as_of_date)::int
     and m.day = date_part('day', p.as_of_date)::int
)
select * from final;
comment on view core.project_progress is
  'Each project at its latest current as_of_date with the milestone in force on that date and its status, computed from the current facts: what core.project_status holds (sql/load/refresh_project_status.sql computes the same for the units a load touched).';

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
    status            text not null
);
-- No primary key: (unit_code, project_code) is unique by construction (distinct on). The load writes every project
-- of a national load here, in unit order: a BRIN index on unit_code (what the load replaces and BI filters on) costs
-- it ~0.25 s per million rows, a B-tree ~2 s.
create index project_status_unit on core.project_status using brin (unit_code)
  with (pages_per_range = 8, autosummarize = on);
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
        -- loads replacing units' rows finish first and wait for this transaction: the rows recomputed below see them
        lock table core.project_status in share row exclusive mode;
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
