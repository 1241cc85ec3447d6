-- After COPYing the facts of newly claimed submissions (:ids) of one feed:
-- 1. record which slices each submission carries (computed from the parsed rows, so the fact table is not
--    scanned: :slice_ids[i] carries :slice_keys[i] of period :slice_periods[i]),
insert into audit.submission_slice (submission_id, slice_key, period)
select submission_id, slice_key, period
from unnest(cast(:slice_ids as bigint[]), cast(:slice_keys as text[]), cast(:slice_periods as text[]))
     as s(submission_id, slice_key, period);

-- 2. number the accepted submissions of the same unit and feed sharing a slice with them, in the order they
--    arrived: by run, then by landing time, then by claim (a correction sent in a later run is the newer version
--    whatever its file's timestamp). The earlier ones sharing a slice are numbered again: a run started earlier
--    that commits later (two uploads at once) takes its place in the order instead of repeating a number.
with touched as materialized (
    select distinct o.submission_id
    from audit.submission_slice mine
    join audit.submission me on me.submission_id = mine.submission_id
    join audit.submission o
      on o.unit_code = me.unit_code and o.feed = me.feed and o.status in ('loaded', 'loaded_with_warnings')
    join audit.submission_slice theirs
      on theirs.submission_id = o.submission_id and theirs.slice_key = mine.slice_key
    where mine.submission_id = any(:ids)
),
earlier as materialized (
    select t.submission_id, count(distinct o.submission_id) as versions
    from touched t
    join audit.submission me on me.submission_id = t.submission_id
    join audit.submission_slice mine on mine.submission_id = t.submission_id
    join audit.submission o
      on o.unit_code = me.unit_code and o.feed = me.feed
     and o.status in ('loaded', 'loaded_with_warnings')
     and (coalesce(o.run_id, 0), o.received_at, o.submission_id)
       < (coalesce(me.run_id, 0), me.received_at, me.submission_id)
    join audit.submission_slice theirs
      on theirs.submission_id = o.submission_id and theirs.slice_key = mine.slice_key
    group by t.submission_id
)
update audit.submission s
set version = 1 + coalesce((select e.versions from earlier e where e.submission_id = s.submission_id), 0)
where s.submission_id in (select submission_id from touched)
  and s.version is distinct from 1 + coalesce((select e.versions from earlier e where e.submission_id = s.submission_id), 0);

-- 3. make the newest accepted submission current for every slice of the touched units.
{refresh_current}
