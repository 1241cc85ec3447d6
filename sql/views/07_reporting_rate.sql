-- mart.reporting_rate — grain: one row per unit, monthly feed it must send, and month of the reporting calendar:
-- January of the year of the month before the as-of date up to the as-of month (in January, last year's months
-- stay, since December is due on 5 January). is_due: the due date has passed at the as-of date.
create view mart.reporting_rate as
with state as (
    select coalesce((select value::date from core.pipeline_state where key = 'as_of'), current_date) as as_of
),
expected as (
    select u.unit_code, f.feed
    from core.unit u cross join lateral unnest(u.monthly_feeds) as f(feed)
    where u.is_active
),
months as (
    select to_char(m, 'YYYY-MM') as period, m::date as period_start,
           (m + interval '1 month 4 days')::date as due_date,
           (m + interval '1 month 4 days')::date < state.as_of as is_due
    from state cross join lateral generate_series(date_trunc('year', state.as_of - interval '1 month'),
                                                 date_trunc('month', state.as_of), interval '1 month') as m
),
received as (
    select s.unit_code, s.feed, ss.period, min(s.received_at) as first_received_at
    from audit.submission s join audit.submission_slice ss using (submission_id)
    where s.status in ('loaded', 'loaded_with_warnings')
    group by s.unit_code, s.feed, ss.period
),
final as (
    select e.unit_code, e.feed, m.period, m.due_date,
           (r.first_received_at is not null) as received,
           coalesce((r.first_received_at at time zone 'Asia/Ho_Chi_Minh')::date <= m.due_date, false) as on_time,
           r.first_received_at as received_at, m.period_start, m.is_due
    from expected e cross join months m
    left join received r on r.unit_code = e.unit_code and r.feed = e.feed and r.period = m.period
)
select * from final;
comment on view mart.reporting_rate is
  'One row per unit, monthly feed it must send (catalog units.monthly_feeds) and month from January of the year of the month before the as-of date up to the as-of month: due_date is the 5th of the following month (December is due on 5 January); received = an accepted submission covers the month; on_time = it landed by the due date (Asia/Ho_Chi_Minh); is_due = the due date has passed at the as-of date. Completeness is counted over is_due rows only.';
comment on column mart.reporting_rate.unit_code is 'Unit that must send the feed.';
comment on column mart.reporting_rate.feed is 'Monthly feed: dossier, admin_ops or disbursement.';
comment on column mart.reporting_rate.period is 'Month reported on, YYYY-MM.';
comment on column mart.reporting_rate.due_date is 'Due date: the 5th of the following month.';
comment on column mart.reporting_rate.received is 'An accepted submission covers the month (a rejected file does not count).';
comment on column mart.reporting_rate.on_time is 'The first accepted submission landed by the due date (Asia/Ho_Chi_Minh).';
comment on column mart.reporting_rate.received_at is 'When the first accepted submission for the month landed.';
comment on column mart.reporting_rate.period_start is 'First day of period, as a date.';
comment on column mart.reporting_rate.is_due is 'The due date has passed at the as-of date: only these rows count in completeness and timeliness.';
