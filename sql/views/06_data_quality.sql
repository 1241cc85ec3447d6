-- mart.data_quality — grain: one row per failed check of a submission.
create view mart.data_quality as
with checks as (
    select c.submission_id, s.unit_code, s.feed, c.expectation, c.severity, c.column_name,
           c.failed_rows, c.sample, c.failed_row_numbers, c.message, c.message_vi, s.file_name, s.received_at,
           s.status as submission_status, c.check_id
    from audit.check_result c join audit.submission s using (submission_id)
)
select * from checks;
comment on view mart.data_quality is
  'One row per failed check of a submission: the expectation, its severity (error rejects the submission, warning loads it, info lists rows of a report template set aside as not data, with the reason), the column, how many rows failed, a sample of failing rows (row number and values), the full list of failing row numbers, and the check described in English (message) and in Vietnamese as the unit was told (message_vi).';
comment on column mart.data_quality.submission_id is 'Submission checked (mart.submission_log).';
comment on column mart.data_quality.unit_code is 'Submitting unit.';
comment on column mart.data_quality.feed is 'Feed of the submission.';
comment on column mart.data_quality.expectation is 'The check that failed (e.g. online_le_total).';
comment on column mart.data_quality.severity is 'error (the submission is rejected), warning (loaded and reported) or info (rows set aside as not data).';
comment on column mart.data_quality.column_name is 'Column the check is about.';
comment on column mart.data_quality.failed_rows is 'How many rows failed the check.';
comment on column mart.data_quality.sample is 'A sample of failing rows: row number and values.';
comment on column mart.data_quality.failed_row_numbers is 'Every failing row number (as in the file).';
comment on column mart.data_quality.message is 'The check and its failure, in English.';
comment on column mart.data_quality.message_vi is 'The check and its failure in Vietnamese, as the unit was told.';
comment on column mart.data_quality.file_name is 'File name of the submission.';
comment on column mart.data_quality.received_at is 'When the file landed.';
comment on column mart.data_quality.submission_status is 'Status of the submission (mart.submission_log.status).';
comment on column mart.data_quality.check_id is 'Identifier of this failed check.';
