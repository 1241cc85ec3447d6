-- Stand-in for mart.metric while the warehouse has no such view: the catalog's indicators (derived metrics and
-- reported indicators alike), under the contract's column names. A temporary view, so the open-data schema is
-- generated from it exactly as from a mart view.
create or replace temporary view open_data_metric as
select indicator_code as metric_code, name_vi, name_en, unit_of_measure, direction, periodicity, aggregation,
       source_feed
from core.indicator;
comment on view open_data_metric is
  'One row per metric or indicator of the catalog (catalog/indicators.csv): its names, unit of measure and direction. Derived from the catalog (core.indicator) because the warehouse has no mart.metric view yet.';
comment on column open_data_metric.metric_code is 'Code of the metric or indicator, as used in metric_value and target_attainment.';
comment on column open_data_metric.name_vi is 'Vietnamese name.';
comment on column open_data_metric.name_en is 'English name.';
comment on column open_data_metric.unit_of_measure is 'Unit of measure of the values (percent, ha, billion VND, a count noun, ...).';
comment on column open_data_metric.direction is 'up if higher is better, down if lower is better.';
comment on column open_data_metric.periodicity is 'Period of one value: month, quarter or year.';
comment on column open_data_metric.aggregation is 'How periods combine into the year-to-date value: sum or last.';
comment on column open_data_metric.source_feed is 'Feed the values come from (dossier, tasks, admin_ops, disbursement, or indicator for reported values).';
