-- The targets of the portal's units with their status: grain one row per target.
select t.target_code, t.metric_code, t.unit_code, t.year, t.comparator, t.target_value, t.actual_value,
       t.as_of_period, t.status, t.unit_of_measure, t.description_vi, t.indicator_name_vi, t.source_doc,
       t.source_clause
from mart.target_attainment t
where (cast(:units as text[]) is null or t.unit_code = any(cast(:units as text[])))
order by t.unit_code, t.year desc, t.target_code
