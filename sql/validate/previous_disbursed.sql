-- Grain: one row per project of the given units at its latest current as_of_date (what a new cumulative figure
-- must not fall below). Read through COPY by chitieu.bulk_read: psycopg placeholders.
select unit_code, project_code, as_of_date, disbursed_vnd
from core.project_status
where unit_code = any(%(units)s)
