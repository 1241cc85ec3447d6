-- Replace the metric rows of :units for the metrics of :feeds with the freshly built components,
-- month and year-to-date (ratios of sums), then roll the province (LANGSON) up from the unit rows.
delete from core.metric_value mv
using core.metric_definition d
where d.metric_code = mv.metric_code and d.feed = any(:feeds)
  and (mv.unit_code = any(:units) or mv.unit_code = :province);

insert into core.metric_value (metric_code, unit_code, period, scope, numerator, denominator, value)
with flows as (
    select metric_code, unit_code, period, 'month' as scope, numerator, denominator from flow_component
    union all
    select metric_code, unit_code, period, 'ytd',
           sum(numerator) over w, sum(denominator) over w
    from flow_component
    window w as (partition by metric_code, unit_code, left(period, 4) order by period)
),
stocks as (
    select metric_code, unit_code, period, 'ytd' as scope, numerator, denominator from stock_component
),
unit_rows as (
    select * from flows union all select * from stocks
)
select u.metric_code, u.unit_code, u.period, u.scope, u.numerator, u.denominator,
       case when u.denominator = 0 then null
            when d.formula = 'reduction' then round(100 * (1 - u.numerator / u.denominator), 4)
            else round(100 * u.numerator / u.denominator, 4) end
from unit_rows u join core.metric_definition d using (metric_code);

insert into core.metric_value (metric_code, unit_code, period, scope, numerator, denominator, value)
select mv.metric_code, :province, mv.period, mv.scope, sum(mv.numerator), sum(mv.denominator),
       case when sum(mv.denominator) = 0 then null
            when d.formula = 'reduction' then round(100 * (1 - sum(mv.numerator) / sum(mv.denominator)), 4)
            else round(100 * sum(mv.numerator) / sum(mv.denominator), 4) end
from core.metric_value mv join core.metric_definition d using (metric_code)
where d.feed = any(:feeds) and mv.unit_code <> :province
group by mv.metric_code, mv.period, mv.scope, d.formula
