-- Reference views for BI: units, targets with their sources, and the alerts sent.
create view mart.unit as
select unit_code, name_vi, name_en, level, parent_code, is_active, monthly_feeds from core.unit;
comment on view mart.unit is 'One row per unit of the catalog (LANGSON = the province roll-up).';

create view mart.alert_log as
select alert_id, kind, unit_code, feed, period, submission_id, channel, status, attempts, created_at, sent_at, subject
from audit.alert;
comment on view mart.alert_log is 'One row per alert message to a unit or Apprise target, with whether it was sent.';
