-- mart.metric_value — grain: one row per metric, unit (or the province roll-up), month and scope (month | ytd).
-- Stocks (tasks, disbursement) appear at the as-of month of the as-of year, and at December of earlier years
-- (CONTRACT.md section 4); their month-end history is in mart.stock_metric_history.
create view mart.metric_value as
with state as (
    select to_char(value::date, 'YYYY-MM') as as_of_period from core.pipeline_state where key = 'as_of'
),
metric_value as (
    select mv.metric_code, mv.unit_code, mv.period, mv.scope, mv.numerator, mv.denominator, mv.value, mv.derived_at,
           make_date(left(mv.period, 4)::int, right(mv.period, 2)::int, 1) as period_start
    from core.metric_value mv
    join core.metric_definition d using (metric_code)
    where not d.is_stock or mv.period = least((select as_of_period from state), left(mv.period, 4) || '-12')
)
select mv.*, coalesce(a.is_approved, false) as is_approved
from metric_value mv
left join mart.metric_approval a using (metric_code, unit_code, period, scope);
comment on column mart.metric_value.is_approved is
  'true when the value rests on approved periods only (mart.metric_approval says how; the province: every unit)';
comment on view mart.metric_value is
  'One row per derived metric, unit (the unit of level province = the province roll-up), month (YYYY-MM) and scope: month, or ytd (year to date, calendar year). Value = 100 x numerator / denominator (document_reduction_rate: 100 x (1 - numerator / denominator)); ratios of sums, NULL when the denominator is 0. The province''s month row adds the units that reported that month; its ytd row adds every unit''s months of the year up to that month. Stocks (task_on_time_rate, disbursement_rate) carry scope ytd and the as-of month as period (December for earlier years). Built from current data only.';
comment on column mart.metric_value.metric_code is 'Metric code (mart.metric names it), e.g. online_dossier_rate.';
comment on column mart.metric_value.unit_code is 'Unit the figure is for; the unit of level province (mart.unit) is the province roll-up.';
comment on column mart.metric_value.period is 'Month of the figure, YYYY-MM (for ytd: the last month of the year to date).';
comment on column mart.metric_value.period_start is 'First day of period, as a date (for time-series charts).';
comment on column mart.metric_value.scope is 'month (that month alone) or ytd (January of the year up to period; stocks: at the month end or as-of date).';
comment on column mart.metric_value.numerator is 'Sum of the numerator (e.g. dossiers received online) over the scope.';
comment on column mart.metric_value.denominator is 'Sum of the denominator (e.g. dossiers received) over the scope.';
comment on column mart.metric_value.value is 'The metric in percent: 100 x numerator / denominator (document_reduction_rate: 100 x (1 - numerator / denominator)); NULL when the denominator is 0.';
comment on column mart.metric_value.derived_at is 'When this row was last derived.';

create view mart.stock_metric_history as
with stock_history as (
    select mv.metric_code, mv.unit_code, mv.period, mv.numerator, mv.denominator, mv.value, mv.derived_at,
           make_date(left(mv.period, 4)::int, right(mv.period, 2)::int, 1) as period_start
    from core.metric_value mv
    join core.metric_definition d using (metric_code)
    where d.is_stock
)
select * from stock_history;
comment on view mart.stock_metric_history is
  'One row per stock metric (task_on_time_rate, disbursement_rate), unit and month of each year with data, up to the as-of month: the stock of that year evaluated at the month end (or at the as-of date for the as-of month). Current data only.';
comment on column mart.stock_metric_history.metric_code is 'Stock metric code: task_on_time_rate or disbursement_rate.';
comment on column mart.stock_metric_history.unit_code is 'Unit the figure is for; the unit of level province is the province roll-up.';
comment on column mart.stock_metric_history.period is 'Month, YYYY-MM; the stock is evaluated at its last day (or the as-of date).';
comment on column mart.stock_metric_history.period_start is 'First day of period, as a date.';
comment on column mart.stock_metric_history.numerator is 'Tasks completed on time, or VND disbursed, at the evaluation date.';
comment on column mart.stock_metric_history.denominator is 'Tasks completed or past due, or VND of capital plan, at the evaluation date.';
comment on column mart.stock_metric_history.value is 'The metric in percent, 100 x numerator / denominator; NULL when the denominator is 0.';
comment on column mart.stock_metric_history.derived_at is 'When this row was last derived.';
