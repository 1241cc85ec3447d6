-- The failed checks of submission :id with their failing rows and samples: grain one row per failed check.
select c.expectation, c.severity, c.column_name, c.failed_row_numbers, c.sample, c.message_vi
from audit.check_result c
where c.submission_id = :id
order by c.check_id
