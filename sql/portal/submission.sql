-- One submission as the portal answers it: grain one row (the submission :id).
select l.submission_id, l.unit_code, l.feed, l.file_name, l.sha256, l.received_at, l.status, l.rows_total,
       l.rows_failed, l.version, l.is_current, l.periods, l.duplicate_of
from mart.submission_log l
where l.submission_id = :id
