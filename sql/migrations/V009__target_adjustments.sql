-- V009: target adjustments (seed 000: a unit proposes, the Chairman decides). A target may have several versions
-- within its year, each in force from `effective_from` (the first from 1 January) and citing the decision that
-- set it; attainment uses the version in force at the as-of date, the others stay visible (mart.target_version).
alter table core.target add column effective_from date, add column decision_ref text;
update core.target set effective_from = make_date(year, 1, 1) where effective_from is null;
alter table core.target alter column effective_from set not null;
alter table core.target drop constraint target_pkey;
alter table core.target add primary key (target_code, year, effective_from);
comment on table core.target is 'One row per target, year and version (effective_from) of the catalog''s targets*.csv files, with the source document and clause, and the decision that adjusted it.';
