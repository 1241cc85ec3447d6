-- Monthly numerators and denominators of the flow metrics (dossier, admin_ops) for :units.
-- Grain: one row per metric, unit and month with a denominator.
create temp table flow_component on commit drop as
with dossier as (
    select unit_code, period,
           sum(received_online) as received_online, sum(received_total) as received_total,
           sum(resolved_on_time) as resolved_on_time, sum(resolved_total) as resolved_total,
           sum(satisfied) as satisfied, sum(surveyed) as surveyed,
           sum(e_results_issued) as e_results_issued,
           sum(petitions_on_time) as petitions_on_time, sum(petitions_received) as petitions_received
    from core.current_dossier
    where unit_code = any(:units) and 'dossier' = any(:feeds)
    group by unit_code, period
),
admin_ops as (
    select unit_code, period, sum(documents_issued) as documents_issued,
           sum(conferences_online) as conferences_online, sum(conferences_in_person) as conferences_in_person
    from core.current_admin_ops
    where unit_code = any(:units) and 'admin_ops' = any(:feeds)
    group by unit_code, period
),
-- Each month the unit reported, against the same month of the previous year: a month without one still counts
-- (denominator 0: its month value is NULL, its documents count in the year to date); a previous-year month whose
-- month has not been reported yet is not compared (the year to date adds the reported months' pairs only).
document_pairs as (
    select this_year.unit_code, this_year.period, this_year.documents_issued as documents_this_year,
           coalesce(last_year.documents_issued, 0) as documents_last_year
    from admin_ops this_year
    left join admin_ops last_year
      on last_year.unit_code = this_year.unit_code
     and last_year.period = (left(this_year.period, 4)::int - 1)::text || substr(this_year.period, 5)
),
components (metric_code, unit_code, period, numerator, denominator) as (
    select 'online_dossier_rate', unit_code, period, received_online, received_total from dossier
    union all select 'on_time_resolution_rate', unit_code, period, resolved_on_time, resolved_total from dossier
    union all select 'satisfaction_rate', unit_code, period, satisfied, surveyed from dossier
    union all select 'e_result_rate', unit_code, period, e_results_issued, resolved_total from dossier
                where e_results_issued is not null
    union all select 'petition_on_time_rate', unit_code, period, petitions_on_time, petitions_received from dossier
    union all select 'online_conference_share', unit_code, period, conferences_online,
                     conferences_online + conferences_in_person from admin_ops
    union all select 'in_person_conference_share', unit_code, period, conferences_in_person,
                     conferences_online + conferences_in_person from admin_ops
    union all select 'document_reduction_rate', unit_code, period, documents_this_year, documents_last_year
                from document_pairs
)
select * from components where denominator is not null and numerator is not null
