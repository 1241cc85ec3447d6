-- Replace core.project_status's rows (V015: each project at its latest current as_of_date, with its milestone and
-- status) of the units whose disbursement submissions :ids are, after sql/load/refresh_current.sql, in the same
-- transaction: a reader sees each unit's projects before or after the load, never half of them.
delete from core.project_status
where unit_code = any(array(select distinct unit_code from audit.submission
                            where submission_id = any(:ids) and feed = 'disbursement'));

insert into core.project_status
select * from core.project_progress
where unit_code = any(array(select distinct unit_code from audit.submission
                            where submission_id = any(:ids) and feed = 'disbursement'))
