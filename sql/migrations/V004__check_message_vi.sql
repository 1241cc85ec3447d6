-- V004: each failed check keeps its Vietnamese description (the words the unit is sent), for analysts in
-- mart.data_quality; `message` stays the English one for engineers.
alter table audit.check_result add column if not exists message_vi text;
