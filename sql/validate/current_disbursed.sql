-- Grain: one row per current disbursement fact of the given units (a rerun's projects' figures at every date, to
-- compare each row with the project's figure before it in the unit's other current submissions).
select submission_id, unit_code, project_code, as_of_date, disbursed_vnd
from core.current_disbursement
where unit_code = any(:units)
