-- V002: current facts, one view per feed: the fact rows whose submission is current for their slice.
create view core.current_dossier as
select f.* from core.fact_dossier f
join core.current_slice c on c.unit_code = f.unit_code and c.feed = 'dossier'
 and c.slice_key = f.slice_key and c.submission_id = f.submission_id;

create view core.current_admin_ops as
select f.* from core.fact_admin_ops f
join core.current_slice c on c.unit_code = f.unit_code and c.feed = 'admin_ops'
 and c.slice_key = f.slice_key and c.submission_id = f.submission_id;

create view core.current_disbursement as
select f.* from core.fact_disbursement f
join core.current_slice c on c.unit_code = f.unit_code and c.feed = 'disbursement'
 and c.slice_key = f.slice_key and c.submission_id = f.submission_id;

create view core.current_tasks as
select f.* from core.fact_tasks f
join core.current_slice c on c.unit_code = f.unit_code and c.feed = 'tasks'
 and c.slice_key = f.slice_key and c.submission_id = f.submission_id;

create view core.current_indicator as
select f.* from core.fact_indicator f
join core.current_slice c on c.unit_code = f.unit_code and c.feed = 'indicator'
 and c.slice_key = f.slice_key and c.submission_id = f.submission_id;

create table core.metric_definition (
    metric_code  text primary key,
    feed         text not null,
    is_stock     boolean not null,
    formula      text not null check (formula in ('share', 'reduction'))
);
comment on table core.metric_definition is 'One row per derived metric: its feed and how numerator/denominator become a value.';
insert into core.metric_definition values
    ('online_dossier_rate', 'dossier', false, 'share'),
    ('on_time_resolution_rate', 'dossier', false, 'share'),
    ('satisfaction_rate', 'dossier', false, 'share'),
    ('e_result_rate', 'dossier', false, 'share'),
    ('petition_on_time_rate', 'dossier', false, 'share'),
    ('online_conference_share', 'admin_ops', false, 'share'),
    ('in_person_conference_share', 'admin_ops', false, 'share'),
    ('document_reduction_rate', 'admin_ops', false, 'reduction'),
    ('task_on_time_rate', 'tasks', true, 'share'),
    ('disbursement_rate', 'disbursement', true, 'share');
