-- Grain: one row per rejected or warned submission among :ids, with the unit it must be told to.
with submissions as (
    select s.submission_id, s.unit_code, s.feed, s.file_name, s.status, s.periods, s.received_at,
           s.rows_total, s.rows_failed
    from audit.submission s
    where s.submission_id = any(:ids)
      and s.status in ('rejected', 'loaded_with_warnings')
),
final as (
    select s.*, u.name_vi, u.contact_email, help.help_name, help.help_email
    from submissions s
    join core.unit u using (unit_code)
    left join lateral (  -- whom to ask for help: the province unit of the catalog
        select h.name_vi as help_name, h.contact_email as help_email
        from core.unit h
        where h.level = 'province'
        order by h.unit_code
        limit 1
    ) help on true
)
select * from final
order by submission_id
