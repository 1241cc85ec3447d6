-- Columns of one relation (mart view, or the temporary stand-in view), in order: type and COMMENT.
select a.attname as name,
       format_type(a.atttypid, a.atttypmod) as pg_type,
       col_description(a.attrelid, a.attnum) as description
from pg_catalog.pg_attribute a
where a.attrelid = to_regclass(:relation) and a.attnum > 0 and not a.attisdropped
order by a.attnum
