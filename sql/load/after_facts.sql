-- After COPYing the facts of newly claimed submissions (:ids) of one feed:
-- 1. record which slices each submission carries,
insert into audit.submission_slice (submission_id, slice_key, period)
select distinct submission_id, slice_key, {period}
from core.{fact_table}
where submission_id = any(:ids);

-- 2. number each submission among the accepted ones of the same unit and feed sharing a slice,
update audit.submission s
set version = 1 + (
    select count(distinct o.submission_id)
    from audit.submission_slice mine
    join audit.submission_slice theirs on theirs.slice_key = mine.slice_key
    join audit.submission o on o.submission_id = theirs.submission_id
    where mine.submission_id = s.submission_id
      and o.unit_code = s.unit_code and o.feed = s.feed
      and o.status in ('loaded', 'loaded_with_warnings')
      and (o.received_at, o.submission_id) < (s.received_at, s.submission_id))
where s.submission_id = any(:ids);

-- 3. make the newest accepted submission current for every slice of the touched units.
{refresh_current}
