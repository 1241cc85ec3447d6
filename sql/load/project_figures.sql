-- progress_pct and status, by their SQL definitions (core.progress_pct, core.disbursement_status), of the rows of a
-- unit's first projects that chitieu/project_figures.py leaves to PostgreSQL (figures of 10^13 VND or more, a
-- progress of 10,000 % or more, a missing figure, a milestone whose comparison would not fit in int64), in the order
-- given.
select cast(core.progress_pct(f.disbursed_vnd, f.capital_plan_vnd) as text) as progress_pct,
       core.disbursement_status(f.disbursed_vnd, f.capital_plan_vnd, f.milestone_pct) as status
from unnest(cast(:disbursed as bigint[]), cast(:plan as bigint[]), cast(:milestone_pct as numeric[]))
     with ordinality as f(disbursed_vnd, capital_plan_vnd, milestone_pct, n)
order by f.n
