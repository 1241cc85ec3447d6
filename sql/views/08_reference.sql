-- Reference views for BI: units, targets with their sources, and the alerts sent.
create view mart.unit as
select unit_code, name_vi, name_en, level, parent_code, is_active, monthly_feeds from core.unit;
comment on view mart.unit is 'One row per unit of the catalog (LANGSON = the province roll-up).';

create view mart.alert_log as
select alert_id, kind, unit_code, feed, period, submission_id, channel, status, attempts, created_at, sent_at, subject
from audit.alert;
comment on view mart.alert_log is 'One row per alert message to a unit or Apprise target, with whether it was sent.';

create view mart.pipeline_state as
select max(value) filter (where key = 'as_of')::date as as_of_date,
       (select max(finished_at) from audit.run) as last_run_finished_at
from core.pipeline_state;
comment on view mart.pipeline_state is 'One row: the as-of date the metrics were last derived for, and when the last run finished.';
