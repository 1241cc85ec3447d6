-- Grain: one row per failed check of the submissions :ids (audit.check_result), errors first; template rows set
-- aside (severity info) are in mart.data_quality, not in the alert.
select c.submission_id, c.expectation, c.severity, c.column_name, c.failed_rows, c.sample, c.message, c.message_vi
from audit.check_result c
where c.submission_id = any(:ids) and c.severity <> 'info'
order by c.submission_id, c.severity <> 'error', c.check_id
