-- Replace the metric rows of :units for the metrics of :feeds with the freshly built components,
-- month and year-to-date (ratios of sums), then roll the province (:province, the catalog's unit of level
-- province) up from every unit's rows. A unit's disbursement rows are replaced from its month in :since on (the
-- same position as its code in :units; null: all of them), the months sql/derive/stock_components.sql built.
delete from core.metric_value mv
using core.metric_definition d, unnest(cast(:units as text[]), cast(:since as text[])) as u(unit_code, since)
where d.metric_code = mv.metric_code and d.feed = any(:feeds) and mv.unit_code = u.unit_code
  and (u.since is null or d.feed <> 'disbursement' or mv.period >= u.since);
delete from core.metric_value mv
using core.metric_definition d
where d.metric_code = mv.metric_code and d.feed = any(:feeds) and mv.unit_code = :province;

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

-- The province: its month row for P adds the units that reported P; its year to date at P adds every unit's
-- months of that year up to P (the running sum of its month rows), so a unit that has not yet sent P still
-- counts with its earlier months. Stocks add every unit's month-end stock (each unit has one per month).
insert into core.metric_value (metric_code, unit_code, period, scope, numerator, denominator, value)
with province_month as (
    select mv.metric_code, mv.period, sum(mv.numerator) as numerator, sum(mv.denominator) as denominator
    from core.metric_value mv join core.metric_definition d using (metric_code)
    where d.feed = any(:feeds) and not d.is_stock and mv.scope = 'month' and mv.unit_code <> :province
    group by mv.metric_code, mv.period
),
province_rows as (
    select metric_code, period, 'month' as scope, numerator, denominator from province_month
    union all
    select metric_code, period, 'ytd', sum(numerator) over w, sum(denominator) over w
    from province_month
    window w as (partition by metric_code, left(period, 4) order by period)
    union all
    select mv.metric_code, mv.period, 'ytd', sum(mv.numerator), sum(mv.denominator)
    from core.metric_value mv join core.metric_definition d using (metric_code)
    where d.feed = any(:feeds) and d.is_stock and mv.unit_code <> :province
    group by mv.metric_code, mv.period
)
select p.metric_code, :province, p.period, p.scope, p.numerator, p.denominator,
       case when p.denominator = 0 then null
            when d.formula = 'reduction' then round(100 * (1 - p.numerator / p.denominator), 4)
            else round(100 * p.numerator / p.denominator, 4) end
from province_rows p join core.metric_definition d using (metric_code)
