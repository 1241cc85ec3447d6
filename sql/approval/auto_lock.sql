-- Lock automatically, for one feed, every unit's monthly period with current data whose due date (the 5th of the
-- following month) passed more than :days days before :as_of and that was never approved or reopened (a
-- reopened period stays open: reopening is the exception the reviewer chose). The caller holds the units' locks.
insert into audit.approval (unit_code, feed, period, status, acted_by, automatic)
select distinct c.unit_code, c.feed, c.period, 'approved', 'auto', true
from core.current_slice c
where c.feed = :feed and c.unit_code = any(:units)
  and c.period ~ '^[0-9]{4}-[0-9]{2}$'
  and (to_date(c.period || '-05', 'YYYY-MM-DD') + interval '1 month')::date + cast(:days as int) < cast(:as_of as date)
  and not exists (select 1 from audit.approval a
                  where a.unit_code = c.unit_code and a.feed = c.feed and a.period = c.period)
returning unit_code, period
