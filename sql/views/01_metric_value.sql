-- mart.metric_value — grain: one row per metric, unit (or LANGSON), month and scope (month | ytd).
-- Stocks (tasks, disbursement) appear at the as-of month only (CONTRACT.md section 4);
-- their month-end history is in mart.stock_metric_history.
create view mart.metric_value as
with state as (
    select to_char(value::date, 'YYYY-MM') as as_of_period from core.pipeline_state where key = 'as_of'
),
metric_value as (
    select mv.metric_code, mv.unit_code, mv.period, mv.scope, mv.numerator, mv.denominator, mv.value, mv.derived_at
    from core.metric_value mv
    join core.metric_definition d using (metric_code)
    where not d.is_stock or mv.period = (select as_of_period from state)
)
select mv.*, coalesce(a.is_approved, false) as is_approved
from metric_value mv
left join mart.metric_approval a using (metric_code, unit_code, period, scope);
comment on column mart.metric_value.is_approved is
  'true when the value rests on approved periods only (mart.metric_approval says how; the province: every unit)';
comment on view mart.metric_value is
  'One row per derived metric, unit (LANGSON = province roll-up), month (YYYY-MM) and scope: month, or ytd (year to date). Value = 100 x numerator / denominator (document_reduction_rate: 100 x (1 - numerator / denominator)); ratios of sums, NULL when the denominator is 0. Stocks (task_on_time_rate, disbursement_rate) carry scope ytd and the as-of month as period. Built from current data only.';

create view mart.stock_metric_history as
with stock_history as (
    select mv.metric_code, mv.unit_code, mv.period, mv.numerator, mv.denominator, mv.value, mv.derived_at
    from core.metric_value mv
    join core.metric_definition d using (metric_code)
    where d.is_stock
)
select * from stock_history;
comment on view mart.stock_metric_history is
  'One row per stock metric (task_on_time_rate, disbursement_rate), unit and month of the as-of year: the stock evaluated at the month end (or at the as-of date for the as-of month). Current data only.';
