-- Targets mirror the catalog's targets*.csv files exactly (each version of a target: code, year, effective_from):
-- upsert what is there, delete what is gone.
insert into core.target (target_code, indicator_code, unit_code, year, comparator, target_value, unit_of_measure,
                         deadline, owner, description_vi, description_en, source_doc, source_clause,
                         effective_from, decision_ref)
select target_code, indicator_code, unit_code, year, comparator, target_value, unit_of_measure,
       deadline, owner, description_vi, description_en, source_doc, source_clause, effective_from, decision_ref
from incoming_target
on conflict (target_code, year, effective_from) do update set
    indicator_code = excluded.indicator_code, unit_code = excluded.unit_code,
    comparator = excluded.comparator, target_value = excluded.target_value,
    unit_of_measure = excluded.unit_of_measure, deadline = excluded.deadline, owner = excluded.owner,
    description_vi = excluded.description_vi, description_en = excluded.description_en,
    source_doc = excluded.source_doc, source_clause = excluded.source_clause,
    decision_ref = excluded.decision_ref, updated_at = now()
where (core.target.indicator_code, core.target.unit_code, core.target.comparator,
       core.target.target_value, core.target.unit_of_measure, core.target.deadline, core.target.owner,
       core.target.description_vi, core.target.description_en, core.target.source_doc, core.target.source_clause,
       core.target.decision_ref)
   is distinct from
      (excluded.indicator_code, excluded.unit_code, excluded.comparator, excluded.target_value,
       excluded.unit_of_measure, excluded.deadline, excluded.owner, excluded.description_vi,
       excluded.description_en, excluded.source_doc, excluded.source_clause, excluded.decision_ref);
delete from core.target t
where not exists (select 1 from incoming_target i
                  where i.target_code = t.target_code and i.year = t.year and i.effective_from = t.effective_from)
