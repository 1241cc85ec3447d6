-- Which of the units %(units)s have a disbursement submission loaded (so rows in core.project_status to compare a new
-- cumulative figure with): sql/validate/previous_disbursed.sql reads only theirs. For units on their first report,
-- every part of a national first month, nothing is read (a scan of the rows of the parts loaded before it).
select distinct unit_code
from audit.submission
where feed = 'disbursement' and unit_code = any(%(units)s) and status in ('loaded', 'loaded_with_warnings')
