-- mart.target_attainment — grain: one row per catalog target.
create view mart.target_attainment as
with targets as (
    select t.*, i.name_vi as indicator_name_vi, i.direction
    from core.target t join core.indicator i using (indicator_code)
),
latest_metric as (
    select distinct on (metric_code, unit_code, left(period, 4))
           metric_code as code, unit_code, left(period, 4)::int as year, period, value
    from core.metric_value where scope = 'ytd'
    order by metric_code, unit_code, left(period, 4), period desc
),
latest_indicator as (
    select distinct on (indicator_code, unit_code, year)
           indicator_code as code, unit_code, year, period, ytd_value as value
    from core.indicator_value
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
           t.source_doc, t.source_clause, t.indicator_name_vi, t.direction
    from targets t
    left join latest l on l.code = t.indicator_code and l.unit_code = t.unit_code and l.year = t.year
)
select * from judged;
comment on view mart.target_attainment is
  'One row per 2026 target of the catalog, judged on the latest year-to-date value of its metric or indicator for its unit: met, not_met, or no_data (no value yet, or a zero denominator). as_of_period is the period of that value; source_doc and source_clause cite the seed document.';
