-- Submissions the caller may see, newest first: grain one row per submission.
-- :units null = every unit (province, admin); :feed, :period optional filters.
select l.submission_id, l.unit_code, l.feed, l.file_name, l.sha256, l.received_at, l.status, l.rows_total,
       l.rows_failed, l.version, l.is_current, l.periods, l.duplicate_of
from mart.submission_log l
where (cast(:units as text[]) is null or l.unit_code = any(cast(:units as text[])))
  and (cast(:feed as text) is null or l.feed = :feed)
  and (cast(:period as text) is null or cast(:period as text) = any(l.periods))
order by l.received_at desc, l.submission_id desc
limit :limit
