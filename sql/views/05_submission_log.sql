-- mart.submission_log — grain: one row per submission (distinct file content, or a duplicate file).
create view mart.submission_log as
with submissions as (
    select * from audit.submission
),
current_submissions as (
    select distinct submission_id from core.current_slice
),
final as (
    select s.submission_id, s.unit_code, s.feed, s.file_name, s.sha256, s.received_at, s.status,
           s.rows_total, s.rows_failed, s.version, (c.submission_id is not null) as is_current,
           s.processed_at, s.periods, s.duplicate_of, s.run_id, s.message
    from submissions s left join current_submissions c using (submission_id)
)
select * from final;
comment on view mart.submission_log is
  'One row per file received: status loaded, loaded_with_warnings, rejected or duplicate; version numbers corrections of the same unit, feed and period; is_current marks the version the metrics use. received_at is when the file landed in the inbox.';
