-- Milestones mirror milestones.csv exactly.
insert into core.milestone (project_group, milestone_mmdd, required_pct, source_doc, source_clause)
select project_group, milestone_mmdd, required_pct, source_doc, source_clause from incoming_milestone
on conflict (project_group, milestone_mmdd) do update set
    required_pct = excluded.required_pct, source_doc = excluded.source_doc, source_clause = excluded.source_clause
where (core.milestone.required_pct, core.milestone.source_doc, core.milestone.source_clause)
   is distinct from (excluded.required_pct, excluded.source_doc, excluded.source_clause);
delete from core.milestone m
where not exists (select 1 from incoming_milestone i
                  where i.project_group = m.project_group and i.milestone_mmdd = m.milestone_mmdd)
