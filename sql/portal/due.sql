-- What is due and late for the portal's units: grain one row per unit, monthly feed and month, for the months
-- whose report falls due in the as-of month, and every earlier month not received yet.
with state as (
    select cast(:as_of as date) as as_of
)
select r.unit_code, r.feed, r.period, r.due_date, r.received, r.on_time, r.received_at,
       (not r.received and r.due_date < state.as_of) as is_late
from mart.reporting_rate r cross join state
where (cast(:units as text[]) is null or r.unit_code = any(cast(:units as text[])))
  and (date_trunc('month', r.due_date) = date_trunc('month', state.as_of)
       or (not r.received and r.due_date < state.as_of))
order by r.unit_code, r.feed, r.period desc
