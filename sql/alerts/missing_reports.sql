-- Grain: one row per active unit, monthly feed it must send (core.unit.monthly_feeds) and month whose due date
-- (the 5th of the following month, as in mart.reporting_rate) is before :as_of with no accepted submission
-- covering it. Months run from January of the year of the month before :as_of.
with expected as (
    select u.unit_code, u.name_vi, u.contact_email, help.help_name, help.help_email, f.feed
    from core.unit u
    cross join lateral unnest(u.monthly_feeds) as f(feed)
    left join lateral (  -- whom to ask for help: the province unit of the catalog
        select h.name_vi as help_name, h.contact_email as help_email
        from core.unit h
        where h.level = 'province'
        order by h.unit_code
        limit 1
    ) help on true
    where u.is_active
),
months as (
    select to_char(m, 'YYYY-MM') as period, (m + interval '1 month 4 days')::date as due_date
    from generate_series(date_trunc('year', cast(:as_of as date) - interval '1 month'),
                         date_trunc('month', cast(:as_of as date)) - interval '1 month',
                         interval '1 month') as m
),
received as (
    select distinct s.unit_code, s.feed, ss.period
    from audit.submission s
    join audit.submission_slice ss using (submission_id)
    where s.status in ('loaded', 'loaded_with_warnings')
),
final as (
    select e.unit_code, e.name_vi, e.contact_email, e.help_name, e.help_email, e.feed, m.period, m.due_date
    from expected e
    cross join months m
    left join received r on r.unit_code = e.unit_code and r.feed = e.feed and r.period = m.period
    where r.unit_code is null
      and m.due_date < cast(:as_of as date)
)
select * from final
order by unit_code, feed, period
