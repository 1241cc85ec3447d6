-- Reference views for BI: units, metric names, the alerts sent, the pipeline state.
create view mart.unit as
select unit_code, name_vi, name_en, level, parent_code, is_active, monthly_feeds from core.unit;
comment on view mart.unit is 'One row per unit of the catalog; the one unit of level province is the province itself, the roll-up code in every view.';
comment on column mart.unit.unit_code is 'Unit code (the inbox folder name of a submitting unit).';
comment on column mart.unit.name_vi is 'Official Vietnamese name.';
comment on column mart.unit.name_en is 'English name.';
comment on column mart.unit.level is 'province (the roll-up), department, center or commune.';
comment on column mart.unit.parent_code is 'Parent unit.';
comment on column mart.unit.is_active is 'Whether the unit is expected to report.';
comment on column mart.unit.monthly_feeds is 'Feeds the unit must send every month.';

create view mart.metric as
select coalesce(i.indicator_code, d.metric_code) as metric_code,
       coalesce(i.name_vi, d.metric_code) as name_vi, coalesce(i.name_en, d.metric_code) as name_en,
       coalesce(i.unit_of_measure, chr(37)) as unit_of_measure, coalesce(i.direction, 'up') as direction,
       coalesce(i.source_feed, d.feed) as source_feed,
       case when d.metric_code is not null then 'derived' else 'reported' end as kind,
       i.periodicity, i.aggregation
from core.indicator i full join core.metric_definition d on d.metric_code = i.indicator_code;
comment on view mart.metric is 'One row per metric derived from a feed or indicator reported through the indicator feed: its names, so charts show names, not codes.';
comment on column mart.metric.metric_code is 'Code used as metric_code / indicator_code in the other views.';
comment on column mart.metric.name_vi is 'Vietnamese name.';
comment on column mart.metric.name_en is 'English name.';
comment on column mart.metric.unit_of_measure is 'Unit of its values (e.g. percent, ha, arrivals).';
comment on column mart.metric.direction is 'up if higher is better, down if lower is better.';
comment on column mart.metric.source_feed is 'Feed it comes from: dossier, tasks, admin_ops, disbursement (derived) or indicator (reported).';
comment on column mart.metric.kind is 'derived (computed from a feed: mart.metric_value) or reported (mart.indicator_value).';
comment on column mart.metric.periodicity is 'month, quarter or year: the period of one value.';
comment on column mart.metric.aggregation is 'How periods combine into the year to date: sum or last.';

create view mart.alert_log as
select alert_id, kind, unit_code, feed, period, submission_id, channel, status, attempts, created_at, sent_at, subject,
       case when period ~ '^[0-9]{4}-[0-9]{2}$' then make_date(left(period, 4)::int, right(period, 2)::int, 1)
       end as period_start
from audit.alert;
comment on view mart.alert_log is 'One row per alert message to a unit or Apprise target, with whether it was sent.';
comment on column mart.alert_log.alert_id is 'Identifier of the message.';
comment on column mart.alert_log.kind is 'rejected, warning, resolved or reminder.';
comment on column mart.alert_log.unit_code is 'Unit the message is about and sent to.';
comment on column mart.alert_log.feed is 'Feed concerned.';
comment on column mart.alert_log.period is 'Month concerned (reminders), YYYY-MM.';
comment on column mart.alert_log.period_start is 'First day of period, as a date.';
comment on column mart.alert_log.submission_id is 'Submission the message is about (mart.submission_log).';
comment on column mart.alert_log.channel is 'smtp or apprise.';
comment on column mart.alert_log.status is 'pending, sent, failed or not_configured (no mail server: recorded, not sent).';
comment on column mart.alert_log.attempts is 'How many times sending was tried.';
comment on column mart.alert_log.created_at is 'When the message was recorded.';
comment on column mart.alert_log.sent_at is 'When it was sent.';
comment on column mart.alert_log.subject is 'Subject line of the message.';

create view mart.pipeline_state as
select max(value) filter (where key = 'as_of')::date as as_of_date,
       (select max(finished_at) from audit.run) as last_run_finished_at
from core.pipeline_state;
comment on view mart.pipeline_state is 'One row: the as-of date the metrics were last derived for, and when the last run finished.';
comment on column mart.pipeline_state.as_of_date is 'As-of date the metrics were last derived for.';
comment on column mart.pipeline_state.last_run_finished_at is 'When the last pipeline run finished.';
