-- Each project of :units at its latest current as_of_date (the grain of mart.disbursement_progress).
delete from core.project_status where unit_code = any(:units);

insert into core.project_status (unit_code, project_code, project_name, project_group, as_of_date,
                                 capital_plan_vnd, disbursed_vnd, submission_id)
select distinct on (unit_code, project_code)
       unit_code, project_code, project_name, project_group, as_of_date, capital_plan_vnd, disbursed_vnd,
       submission_id
from core.current_disbursement
where unit_code = any(:units)
order by unit_code, project_code, as_of_date desc
