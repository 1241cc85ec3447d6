-- The warnings of submission :id, each with the unit's latest explanation: grain one row per failed check of
-- severity warning.
select c.expectation, c.column_name, c.message_vi, coalesce(cardinality(c.failed_row_numbers), 0) as row_count,
       e.explanation, e.explained_by, e.explained_at
from audit.check_result c
left join lateral (
    select x.explanation, x.explained_by, x.explained_at from audit.warning_explanation x
    where x.submission_id = c.submission_id and x.expectation = c.expectation
      and x.column_name is not distinct from c.column_name
    order by x.explanation_id desc limit 1
) e on true
where c.submission_id = :id and c.severity = 'warning'
order by c.check_id
