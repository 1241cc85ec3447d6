-- Grain: one row per current indicator value of the given units (the history a new value is scored against).
select unit_code, indicator_code, period, value
from core.current_indicator
where unit_code = any(:units)
