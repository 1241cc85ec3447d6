-- The source documents the catalog's targets and milestones cite, with the clauses cited.
select source_doc, string_agg(distinct source_clause, '; ' order by source_clause) as clauses
from (select source_doc, source_clause from core.target
      union all
      select source_doc, source_clause from core.milestone) cited
group by source_doc
order by source_doc collate "C"
