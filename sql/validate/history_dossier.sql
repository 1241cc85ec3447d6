-- Grain: one row per current dossier period of the given units (the history a new value is scored against).
select unit_code, period, received_total, received_online, resolved_total, resolved_on_time
from core.current_dossier
where unit_code = any(:units)
