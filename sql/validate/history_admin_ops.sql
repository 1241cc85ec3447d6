-- Grain: one row per current admin_ops period of the given units (the history a new value is scored against).
select unit_code, period, documents_issued, conferences_in_person, conferences_online
from core.current_admin_ops
where unit_code = any(:units)
