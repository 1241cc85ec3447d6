-- V006: the fact tables are found by submission through a BRIN index instead of a B-tree on (unit_code,
-- submission_id).
--
-- Facts are append-only in submission order (a submission's rows are written by one COPY, and submission ids
-- grow), so the physical order follows submission_id and a block-range index finds a submission's rows as well
-- as a B-tree does, for a fraction of the write cost: COPY of 1 M disbursement rows 3.2–3.5 s with the B-tree,
-- 1.8 s with this index (1.6 s without any). The load summarises the ranges it filled
-- (brin_summarize_new_values); autosummarize covers the rest.
--
-- Readers reach the facts of a unit through core.current_slice (its primary key starts with unit_code): the
-- current_* views now take unit_code from current_slice, so a filter on a unit selects slices by that key and
-- joins their rows by submission.
drop index core.fact_dossier_unit;
drop index core.fact_admin_ops_unit;
drop index core.fact_disbursement_unit;
drop index core.fact_tasks_unit;
drop index core.fact_indicator_unit;
create index fact_dossier_submission on core.fact_dossier using brin (submission_id)
  with (pages_per_range = 8, autosummarize = on);
create index fact_admin_ops_submission on core.fact_admin_ops using brin (submission_id)
  with (pages_per_range = 8, autosummarize = on);
create index fact_disbursement_submission on core.fact_disbursement using brin (submission_id)
  with (pages_per_range = 8, autosummarize = on);
create index fact_tasks_submission on core.fact_tasks using brin (submission_id)
  with (pages_per_range = 8, autosummarize = on);
create index fact_indicator_submission on core.fact_indicator using brin (submission_id)
  with (pages_per_range = 8, autosummarize = on);

create or replace view core.current_dossier as
select f.submission_id, f.slice_key, f.source_row, c.unit_code, f.period, f.received_total, f.received_online,
       f.resolved_total, f.resolved_on_time, f.surveyed, f.satisfied, f.e_results_issued, f.petitions_received,
       f.petitions_on_time
from core.fact_dossier f
join core.current_slice c on c.unit_code = f.unit_code and c.feed = 'dossier'
 and c.slice_key = f.slice_key and c.submission_id = f.submission_id;

create or replace view core.current_admin_ops as
select f.submission_id, f.slice_key, f.source_row, c.unit_code, f.period, f.documents_issued,
       f.conferences_in_person, f.conferences_online
from core.fact_admin_ops f
join core.current_slice c on c.unit_code = f.unit_code and c.feed = 'admin_ops'
 and c.slice_key = f.slice_key and c.submission_id = f.submission_id;

create or replace view core.current_disbursement as
select f.submission_id, f.slice_key, f.source_row, f.project_code, f.project_name, c.unit_code, f.project_group,
       f.capital_plan_vnd, f.disbursed_vnd, f.as_of_date
from core.fact_disbursement f
join core.current_slice c on c.unit_code = f.unit_code and c.feed = 'disbursement'
 and c.slice_key = f.slice_key and c.submission_id = f.submission_id;

create or replace view core.current_tasks as
select f.submission_id, f.slice_key, f.source_row, f.task_code, c.unit_code, f.title, f.assigned_date,
       f.due_date, f.completed_date
from core.fact_tasks f
join core.current_slice c on c.unit_code = f.unit_code and c.feed = 'tasks'
 and c.slice_key = f.slice_key and c.submission_id = f.submission_id;

create or replace view core.current_indicator as
select f.submission_id, f.slice_key, f.source_row, c.unit_code, f.indicator_code, f.period, f.value
from core.fact_indicator f
join core.current_slice c on c.unit_code = f.unit_code and c.feed = 'indicator'
 and c.slice_key = f.slice_key and c.submission_id = f.submission_id;
