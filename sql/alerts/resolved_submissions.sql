-- Grain: one row per earlier alerted submission that a clean submission among :ids resolves, paired with the
-- earliest such clean submission. "Resolves" = same unit and feed, received later, sharing a period (or the
-- alerted one carried no period, e.g. an unreadable file or a tasks feed).
with passing as (
    select s.submission_id, s.unit_code, s.feed, s.file_name, s.received_at, s.run_id, s.periods
    from audit.submission s
    where s.submission_id = any(:ids)
      and s.status = 'loaded'
),
alerted as (
    select distinct a.submission_id
    from audit.alert a
    where a.kind in ('rejected', 'warning')
),
pairs as (
    select p.submission_id, p.unit_code, p.feed, p.file_name, p.received_at, p.run_id,
           o.submission_id as alerted_id, o.file_name as alerted_file_name, o.periods as alerted_periods,
           array(select unnest(o.periods) intersect select unnest(p.periods) order by 1) as shared_periods
    from passing p
    join audit.submission o on o.unit_code = p.unit_code and o.feed = p.feed
    join alerted a on a.submission_id = o.submission_id
    where (coalesce(o.run_id, 0), o.received_at, o.submission_id)
        < (coalesce(p.run_id, 0), p.received_at, p.submission_id)  -- arrived before (sql/load/refresh_current.sql)
      and (o.periods && p.periods or cardinality(o.periods) = 0)
),
final as (
    select distinct on (pairs.alerted_id) pairs.*, u.name_vi, u.contact_email, help.help_name, help.help_email
    from pairs
    join core.unit u using (unit_code)
    left join lateral (  -- whom to ask for help: the province unit of the catalog
        select h.name_vi as help_name, h.contact_email as help_email
        from core.unit h
        where h.level = 'province'
        order by h.unit_code
        limit 1
    ) help on true
    order by pairs.alerted_id, coalesce(pairs.run_id, 0), pairs.received_at, pairs.submission_id
)
select * from final
order by submission_id, alerted_id
