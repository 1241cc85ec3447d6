-- mart.metric_value — grain: one row per metric, unit (or LANGSON), month and scope (month | ytd).
create view mart.metric_value as
with metric_value as (
    select metric_code, unit_code, period, scope, numerator, denominator, value, derived_at
    from core.metric_value
)
select * from metric_value;
comment on view mart.metric_value is
  'One row per derived metric, unit (LANGSON = province roll-up), month (YYYY-MM) and scope: month, or ytd (year to date). Value = 100 x numerator / denominator (document_reduction_rate: 100 x (1 - numerator / denominator)); ratios of sums, NULL when the denominator is 0. Stocks (task_on_time_rate, disbursement_rate) are ytd only, evaluated at each month end up to the as-of date. Built from current data only.';
