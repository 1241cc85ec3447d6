-- mart.indicator_value — grain: one row per reported indicator, unit and period.
create view mart.indicator_value as
with indicator_value as (
    select v.indicator_code, v.unit_code, v.year, v.period, v.value, v.ytd_value,
           i.aggregation, i.unit_of_measure, i.name_vi, i.name_en,
           case when v.period ~ '^[0-9]{4}$' then make_date(v.year, 1, 1)
                when v.period ~ '^[0-9]{4}-Q[1-4]$' then make_date(v.year, 3 * right(v.period, 1)::int - 2, 1)
                else make_date(v.year, right(v.period, 2)::int, 1) end as period_start
    from core.indicator_value v join core.indicator i using (indicator_code)
)
select * from indicator_value;
comment on view mart.indicator_value is
  'One row per indicator reported through the indicator feed, unit and period (YYYY, YYYY-Qn or YYYY-MM): the period value and the year-to-date value (sum or last value, per the catalog). The province''s rows (its unit of level province) total the sum-type indicators. Current data only.';
comment on column mart.indicator_value.indicator_code is 'Indicator code (mart.metric names it).';
comment on column mart.indicator_value.unit_code is 'Reporting unit; the unit of level province is the province total of sum-type indicators.';
comment on column mart.indicator_value.year is 'Calendar year of the period.';
comment on column mart.indicator_value.period is 'Period as reported: YYYY, YYYY-Qn or YYYY-MM (the indicator''s periodicity).';
comment on column mart.indicator_value.period_start is 'First day of period, as a date (for time-series charts).';
comment on column mart.indicator_value.value is 'Value reported for the period, in unit_of_measure.';
comment on column mart.indicator_value.ytd_value is 'Year-to-date value at this period: the sum of the year''s periods so far, or the latest value (aggregation).';
comment on column mart.indicator_value.aggregation is 'How periods combine into the year to date: sum or last.';
comment on column mart.indicator_value.unit_of_measure is 'Unit of value and ytd_value (e.g. percent, ha, arrivals).';
comment on column mart.indicator_value.name_vi is 'Indicator name in Vietnamese.';
comment on column mart.indicator_value.name_en is 'Indicator name in English.';
