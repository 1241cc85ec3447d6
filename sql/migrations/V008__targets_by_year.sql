-- V008: many years. A target code is unique within its year (catalog/targets*.csv, one file per year or more),
-- so the same code can carry next year's value.
alter table core.target drop constraint target_pkey;
alter table core.target add primary key (target_code, year);
comment on table core.target is 'One row per target and year (catalog/targets*.csv), with the seed document and clause it comes from.';
