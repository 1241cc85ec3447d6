-- mart.target_attainment — grain: one row per catalog target and year (its version in force, mart.target_version).
-- A target of year Y is judged on Y's year-to-date value as of min(as-of date, end of Y): the latest ytd row of
-- Y not after the as-of month (a December correction still moves last year's targets after January arrives).
create view mart.target_attainment as
with state as (
    select to_char(value::date, 'YYYY-MM') as as_of_period from core.pipeline_state where key = 'as_of'
),
targets as (
    -- the version in force at min(as-of date, end of the target's year); before the first one, the first one
    select distinct on (t.target_code, t.year) t.*, i.name_vi as indicator_name_vi, i.direction
    from core.target t join core.indicator i using (indicator_code)
    order by t.target_code, t.year,
             t.effective_from <= least(coalesce((select value::date from core.pipeline_state where key = 'as_of'),
                                                current_date), make_date(t.year, 12, 31)) desc,
             t.effective_from desc
),
latest_metric as (
    select distinct on (metric_code, unit_code, left(period, 4))
           metric_code as code, unit_code, left(period, 4)::int as year, period, value
    from core.metric_value
    where scope = 'ytd' and period <= coalesce((select as_of_period from state), period)
    order by metric_code, unit_code, left(period, 4), period desc
),
latest_indicator as (
    select distinct on (indicator_code, unit_code, year)
           indicator_code as code, unit_code, year, period, ytd_value as value
    from core.indicator_value
    where left(period, 4) || '-' || coalesce(substring(period from '-([0-9]{2})$'), '01')
          <= coalesce((select as_of_period from state), period)
    order by indicator_code, unit_code, year, period desc
),
latest as (
    select * from latest_metric union all select * from latest_indicator
),
judged as (
    select t.target_code, t.indicator_code as metric_code, t.unit_code, t.year, t.comparator, t.target_value,
           l.value as actual_value, l.period as as_of_period,
           case when l.value is null then 'no_data'
                when t.comparator = '>'  and l.value >  t.target_value then 'met'
                when t.comparator = '>=' and l.value >= t.target_value then 'met'
                when t.comparator = '<'  and l.value <  t.target_value then 'met'
                when t.comparator = '<=' and l.value <= t.target_value then 'met'
                when t.comparator = '='  and round(l.value, 2) = round(t.target_value, 2) then 'met'
                else 'not_met' end as status,
           t.unit_of_measure, t.deadline, t.owner, t.description_vi, t.description_en,
           t.source_doc, t.source_clause, t.indicator_name_vi, t.direction, t.effective_from, t.decision_ref
    from targets t
    left join latest l on l.code = t.indicator_code and l.unit_code = t.unit_code and l.year = t.year
)
select * from judged;
comment on view mart.target_attainment is
  'One row per target and year of the catalog (targets*.csv), judged on the year-to-date value of its metric or indicator for its unit in that year, as of the as-of date or the end of that year if earlier: met, not_met, or no_data (no value yet, or a zero denominator). as_of_period is the period of that value; source_doc and source_clause cite the source document.';
comment on column mart.target_attainment.target_code is 'Target code of the catalog; unique within its year.';
comment on column mart.target_attainment.metric_code is 'Metric or indicator the target is judged on (mart.metric names it).';
comment on column mart.target_attainment.unit_code is 'Unit whose value is judged; the unit of level province is the province as a whole.';
comment on column mart.target_attainment.year is 'Calendar year of the target.';
comment on column mart.target_attainment.comparator is 'How the actual value must compare with target_value: >, >=, =, <= or <.';
comment on column mart.target_attainment.target_value is 'The target, in unit_of_measure.';
comment on column mart.target_attainment.actual_value is 'Year-to-date value of the target''s year as of min(as-of date, end of that year); NULL when there is none.';
comment on column mart.target_attainment.as_of_period is 'Period (YYYY-MM, YYYY-Qn or YYYY) of actual_value.';
comment on column mart.target_attainment.status is 'met, not_met, or no_data (no value yet, or a zero denominator).';
comment on column mart.target_attainment.unit_of_measure is 'Unit of target_value and actual_value (e.g. percent).';
comment on column mart.target_attainment.deadline is 'Month by which the target must be met, YYYY-MM.';
comment on column mart.target_attainment.owner is 'Office responsible for the target, as the source names it.';
comment on column mart.target_attainment.description_vi is 'The target as worded in the source document (Vietnamese).';
comment on column mart.target_attainment.description_en is 'Short English description of the target.';
comment on column mart.target_attainment.source_doc is 'Source document of the target.';
comment on column mart.target_attainment.source_clause is 'Clause of the source document the target comes from.';
comment on column mart.target_attainment.indicator_name_vi is 'Vietnamese name of the metric or indicator.';
comment on column mart.target_attainment.direction is 'up if higher is better, down if lower is better.';
comment on column mart.target_attainment.effective_from is 'Date from which the version of the target judged here is in force (1 January unless adjusted).';
comment on column mart.target_attainment.decision_ref is 'Decision that adjusted the target (NULL for the target as first set).';

create view mart.target_version as
with state as (
    select coalesce((select value::date from core.pipeline_state where key = 'as_of'), current_date) as as_of
),
versions as (
    select t.target_code, t.year, t.effective_from, t.decision_ref, t.indicator_code as metric_code, t.unit_code,
           t.comparator, t.target_value, t.unit_of_measure, t.description_vi, t.source_doc, t.source_clause,
           lead(t.effective_from) over (partition by t.target_code, t.year order by t.effective_from)
               as superseded_on
    from core.target t
)
select v.*,
       (v.effective_from <= least(s.as_of, make_date(v.year, 12, 31))
        and (v.superseded_on is null or v.superseded_on > least(s.as_of, make_date(v.year, 12, 31)))
        or (v.effective_from > least(s.as_of, make_date(v.year, 12, 31))
            and v.effective_from = (select min(effective_from) from core.target x
                                    where x.target_code = v.target_code and x.year = v.year))) as in_force
from versions v cross join state s;
comment on view mart.target_version is
  'One row per version of a target: the target as first set (in force from 1 January) and each adjustment by decision (effective_from, decision_ref). in_force marks the version mart.target_attainment judges.';
comment on column mart.target_version.target_code is 'Target code; unique within its year and effective date.';
comment on column mart.target_version.year is 'Calendar year of the target.';
comment on column mart.target_version.effective_from is 'Date from which this version is in force.';
comment on column mart.target_version.decision_ref is 'Decision that set this version (NULL for the target as first set).';
comment on column mart.target_version.metric_code is 'Metric or indicator the target is judged on.';
comment on column mart.target_version.unit_code is 'Unit whose value is judged.';
comment on column mart.target_version.comparator is 'How the actual value must compare with target_value.';
comment on column mart.target_version.target_value is 'The target of this version, in unit_of_measure.';
comment on column mart.target_version.unit_of_measure is 'Unit of target_value.';
comment on column mart.target_version.description_vi is 'The target as worded in its source (Vietnamese).';
comment on column mart.target_version.source_doc is 'Source document of the target.';
comment on column mart.target_version.source_clause is 'Clause of the source document.';
comment on column mart.target_version.superseded_on is 'Date the next version takes over (NULL for the latest).';
comment on column mart.target_version.in_force is 'This is the version in force at the as-of date (or at the end of its year, for a past year): the one judged in mart.target_attainment.';
