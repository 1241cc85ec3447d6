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
comment on column mart.submission_log.submission_id is 'Identifier of the submission (one distinct file content, or one duplicate file).';
comment on column mart.submission_log.unit_code is 'Submitting unit (the inbox folder).';
comment on column mart.submission_log.feed is 'Feed: dossier, disbursement, tasks, admin_ops or indicator.';
comment on column mart.submission_log.file_name is 'File name as landed.';
comment on column mart.submission_log.sha256 is 'SHA-256 of the file content.';
comment on column mart.submission_log.received_at is 'When the file landed in the inbox.';
comment on column mart.submission_log.status is 'loaded, loaded_with_warnings, rejected or duplicate.';
comment on column mart.submission_log.rows_total is 'Data rows in the file.';
comment on column mart.submission_log.rows_failed is 'Data rows that failed at least one check.';
comment on column mart.submission_log.version is 'Version of the unit''s feed and period: 2 and more are corrections.';
comment on column mart.submission_log.is_current is 'Whether this version is the one the metrics use.';
comment on column mart.submission_log.processed_at is 'When the pipeline processed the file.';
comment on column mart.submission_log.periods is 'Periods (or keys) the file carries.';
comment on column mart.submission_log.duplicate_of is 'For a duplicate: the submission with the same content.';
comment on column mart.submission_log.run_id is 'Pipeline run that processed the file.';
comment on column mart.submission_log.message is 'Short explanation of the status, when there is one.';
