-- Grain: one row per submission among :ids that went through validation (duplicates never do).
select s.submission_id, s.unit_code, s.feed, s.file_name, s.status, s.rows_total, s.rows_failed, s.run_id,
       s.processed_at
from audit.submission s
where s.submission_id = any(:ids)
  and s.status <> 'duplicate'
order by s.submission_id
