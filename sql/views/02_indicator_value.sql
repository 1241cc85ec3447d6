-- mart.indicator_value — grain: one row per reported indicator, unit and period.
create view mart.indicator_value as
with indicator_value as (
    select v.indicator_code, v.unit_code, v.year, v.period, v.value, v.ytd_value,
           i.aggregation, i.unit_of_measure, i.name_vi, i.name_en
    from core.indicator_value v join core.indicator i using (indicator_code)
)
select * from indicator_value;
comment on view mart.indicator_value is
  'One row per indicator reported through the indicator feed, unit and period (YYYY, YYYY-Qn or YYYY-MM): the period value and the year-to-date value (sum or last value, per the catalog). LANGSON rows total the sum-type indicators. Current data only.';
