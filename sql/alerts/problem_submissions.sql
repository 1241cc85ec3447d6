-- Grain: one row per rejected or warned submission among :ids, with the unit it must be told to.
with submissions as (
    select s.submission_id, s.unit_code, s.feed, s.file_name, s.status, s.periods, s.received_at,
           s.rows_total, s.rows_failed
    from audit.submission s
    where s.submission_id = any(:ids)
      and s.status in ('rejected', 'loaded_with_warnings')
),
final as (
    select s.*, u.name_vi, u.contact_email
    from submissions s
    join core.unit u using (unit_code)
)
select * from final
order by submission_id
