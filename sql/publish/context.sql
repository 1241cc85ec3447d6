-- The publisher and the data's own date: the catalog's province-level unit(s) and the as-of date of the derived data.
select u.unit_code, u.name_vi, u.name_en,
       (select value::date from core.pipeline_state where key = 'as_of') as as_of
from core.unit u
where u.level = 'province'
order by u.unit_code
