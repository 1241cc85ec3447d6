-- chitieu_reader: the role BI tools use. It may read mart and nothing else.
revoke all on database :database from public;
grant connect on database :database to chitieu_reader;
revoke all on schema public from public;
revoke all on all tables in schema public from chitieu_reader;
revoke all on schema raw, core, audit from chitieu_reader;
grant usage on schema mart to chitieu_reader;
grant select on all tables in schema mart to chitieu_reader;
alter default privileges in schema mart grant select on tables to chitieu_reader;
alter role chitieu_reader set default_transaction_read_only = on;
-- a BI tool's runaway query or forgotten open transaction must not hold the warehouse: a BI user can still
-- raise statement_timeout for a session (SET) when a heavy extract needs it
alter role chitieu_reader set statement_timeout = '5min';
alter role chitieu_reader set idle_in_transaction_session_timeout = '15min';
