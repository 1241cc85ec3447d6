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
