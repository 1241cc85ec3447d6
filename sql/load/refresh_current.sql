-- Recompute which accepted submission is current for each slice of the given unit/feed pairs: the one that arrived
-- last (by run, then landing time, then claim: sql/load/after_facts.sql numbers versions in the same order).
delete from core.current_slice c
using (select distinct unit_code, feed from audit.submission where submission_id = any(:ids)) touched
where c.unit_code = touched.unit_code and c.feed = touched.feed;

insert into core.current_slice (unit_code, feed, slice_key, period, submission_id)
select distinct on (s.unit_code, s.feed, ss.slice_key)
       s.unit_code, s.feed, ss.slice_key, ss.period, s.submission_id
from audit.submission s
join audit.submission_slice ss on ss.submission_id = s.submission_id
where s.status in ('loaded', 'loaded_with_warnings')
  and (s.unit_code, s.feed) in (select distinct unit_code, feed from audit.submission
                                where submission_id = any(:ids))
order by s.unit_code, s.feed, ss.slice_key, coalesce(s.run_id, 0) desc, s.received_at desc, s.submission_id desc
