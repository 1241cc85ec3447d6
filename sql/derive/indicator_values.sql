-- Reported indicators of :units: each period's value and its year to date (sum or last, per catalog),
-- then the province total for `sum` indicators.
delete from core.indicator_value where unit_code = any(:units) or unit_code = :province;

insert into core.indicator_value (indicator_code, unit_code, year, period, value, ytd_value)
select f.indicator_code, f.unit_code, left(f.period, 4)::int, f.period, f.value,
       case when i.aggregation = 'sum'
            then sum(f.value) over (partition by f.indicator_code, f.unit_code, left(f.period, 4) order by f.period)
            else f.value end
from core.current_indicator f join core.indicator i using (indicator_code)
where f.unit_code = any(:units);

insert into core.indicator_value (indicator_code, unit_code, year, period, value, ytd_value)
select indicator_code, :province, year, period, total,
       sum(total) over (partition by indicator_code, year order by period)
from (
    select v.indicator_code, v.year, v.period, sum(v.value) as total
    from core.indicator_value v join core.indicator i using (indicator_code)
    where i.aggregation = 'sum' and v.unit_code <> :province
    group by v.indicator_code, v.year, v.period
) province_totals
