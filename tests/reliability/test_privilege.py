"""Least privilege and secrets: the BI role reads mart and nothing else, the pipeline role owns the rest, and no
credential ever shows in CLI output, logs, Prefect artifacts, alerts, the report or the warehouse.

tests/test_foundation.py already tries a handful of forbidden statements as chitieu_reader; this checks the
catalog exhaustively (every schema, relation, sequence and role attribute) and tries what an attacker would.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import uuid
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from chitieu.warehouse import OWNER_ROLE, READER_ROLE
from tests.conftest import admin_engine
from tests.reliability import tools

PIPELINE_SCHEMAS = ("raw", "core", "audit", "mart")


def _reader(env) -> sa.Engine:
    from chitieu.config import load_settings
    from chitieu.warehouse import get_engine, reader_url

    url = reader_url(load_settings(), get_engine(load_settings()))
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def test_reader_selects_mart_only_and_the_pipeline_role_owns_everything(env, engine):
    from chitieu.warehouse import apply_migrations

    apply_migrations(engine)  # as `chitieu init` leaves it (a cloned test database starts with default ACLs)
    reader = _reader(env)
    try:
        with engine.connect() as conn:
            relations = conn.execute(sa.text(
                "select n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner) as owner from pg_class c"
                " join pg_namespace n on n.oid = c.relnamespace where n.nspname = any(:s)"
                " and c.relkind in ('r', 'v', 'm', 'S', 'p', 'f')"), {"s": list(PIPELINE_SCHEMAS)}).all()
            schemas = dict(conn.execute(sa.text(
                "select nspname, pg_get_userbyid(nspowner) from pg_namespace where nspname = any(:s)"),
                {"s": list(PIPELINE_SCHEMAS)}).all())
            other_schemas = list(conn.scalars(sa.text(
                "select nspname from pg_namespace where nspname not in ('mart', 'pg_catalog', 'information_schema')"
                " and nspname not like 'pg_toast%' and nspname not like 'pg_temp%'")))
            functions = conn.execute(sa.text(
                "select n.nspname, p.proname, pg_get_userbyid(p.proowner) from pg_proc p"
                " join pg_namespace n on n.oid = p.pronamespace where n.nspname = any(:s)"),
                {"s": list(PIPELINE_SCHEMAS)}).all()
            database_owner = conn.scalar(sa.text(
                "select pg_get_userbyid(datdba) from pg_database where datname = current_database()"))
            roles = {r.rolname: r for r in conn.execute(sa.text(
                "select rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolinherit"
                " from pg_roles where rolname in (:o, :r)"), {"o": OWNER_ROLE, "r": READER_ROLE})}
            memberships = list(conn.scalars(sa.text(
                "select pg_get_userbyid(roleid) from pg_auth_members where member = (select oid from pg_roles"
                " where rolname = :r)"), {"r": READER_ROLE}))
        assert len(relations) > 30
        # --- the pipeline's own role owns every schema, table, view, sequence and function it uses -----------
        assert database_owner == OWNER_ROLE
        assert schemas == dict.fromkeys(PIPELINE_SCHEMAS, OWNER_ROLE)
        assert [r for r in relations if r.owner != OWNER_ROLE] == []
        assert [f for f in functions if f[2] != OWNER_ROLE] == []
        assert not roles[OWNER_ROLE].rolsuper and not roles[OWNER_ROLE].rolbypassrls
        # --- the reader: no attribute beyond LOGIN, member of no role (pg_read_all_data, pg_*_server_files...) -
        r = roles[READER_ROLE]
        assert not (r.rolsuper or r.rolcreatedb or r.rolcreaterole or r.rolreplication or r.rolbypassrls)
        assert memberships == []
        with reader.connect() as conn:
            privileges = conn.execute(sa.text(
                "select n.nspname, c.relname, c.relkind,"
                " has_table_privilege(c.oid, 'select') as can_select,"
                " has_table_privilege(c.oid, 'insert') or has_table_privilege(c.oid, 'update')"
                " or has_table_privilege(c.oid, 'delete') or has_table_privilege(c.oid, 'truncate')"
                " or has_table_privilege(c.oid, 'references') or has_table_privilege(c.oid, 'trigger') as can_write"
                " from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = any(:s)"
                " and c.relkind in ('r', 'v', 'm', 'p', 'f')"), {"s": list(PIPELINE_SCHEMAS)}).all()
            sequences = conn.execute(sa.text(
                "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                " where c.relkind = 'S' and n.nspname = any(:s) and (has_sequence_privilege(c.oid, 'usage')"
                " or has_sequence_privilege(c.oid, 'select') or has_sequence_privilege(c.oid, 'update'))"),
                {"s": list(PIPELINE_SCHEMAS)}).all()
            usage = {s: conn.scalar(sa.text("select has_schema_privilege(:s, 'usage')"), {"s": s})
                     for s in other_schemas + ["mart"]}
            create = {s: conn.scalar(sa.text("select has_schema_privilege(:s, 'create')"), {"s": s})
                      for s in other_schemas + ["mart"]}
            db_create, db_temp = conn.execute(sa.text(
                "select has_database_privilege(current_database(), 'create'),"
                " has_database_privilege(current_database(), 'temp')")).one()
            timeouts = conn.execute(sa.text(
                "select current_setting('statement_timeout'), current_setting('idle_in_transaction_session_timeout'),"
                " current_setting('default_transaction_read_only')")).one()
        assert [p for p in privileges if p.can_write] == []
        assert [f"{p.nspname}.{p.relname}" for p in privileges if p.can_select != (p.nspname == "mart")] == []
        assert {p.relname for p in privileges if p.nspname == "mart"} >= {
            "metric_value", "target_attainment", "disbursement_progress", "submission_log", "data_quality",
            "reporting_rate"}
        assert sequences == []
        assert usage == {**dict.fromkeys(other_schemas, False), "mart": True}
        assert not any(create.values()) and not db_create and not db_temp
        assert tuple(timeouts) == ("5min", "15min", "on")  # no runaway BI query holds the warehouse
        # --- what an intruder with the BI password would try ----------------------------------------------------
        for statement in ("copy (select 1) to program 'id'",
                          "select pg_read_file('/etc/passwd')",
                          "select pg_ls_dir('.')",
                          "select lo_import('/etc/passwd')",
                          "create schema intruder",
                          f"set role {OWNER_ROLE}",
                          "drop view mart.metric_value",
                          "comment on view mart.metric_value is 'x'",
                          "create or replace view mart.metric_value as select 1 as x",
                          "lock table mart.metric_value in access exclusive mode",
                          "select * from mart.submission_log for update",
                          "set transaction read write; delete from audit.alert",
                          "set transaction read write; create temp table intruder (x int)",
                          "select * from audit.alert",
                          "select nextval('audit.run_run_id_seq')",
                          f"alter role {READER_ROLE} superuser",
                          f"grant select on core.unit to {READER_ROLE}",
                          "create function mart.leak() returns int language sql as 'select 1'"):
            with reader.connect() as conn, pytest.raises(sa.exc.DBAPIError):
                conn.execute(sa.text(statement))
    finally:
        reader.dispose()


# --- no credential anywhere -------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Records(logging.Handler):
    """Every log record of the test process, formatted, tracebacks included."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.text: list[str] = []

    def emit(self, record):
        self.text.append(logging.Formatter("%(name)s %(message)s").format(record))


def _warehouse_text(url: sa.URL) -> str:
    engine = tools.check_engine(url)
    parts = []
    try:
        with engine.connect() as conn:
            tables = conn.execute(sa.text(
                "select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                " where n.nspname = any(:s) and c.relkind in ('r', 'v', 'm')"), {"s": list(PIPELINE_SCHEMAS)}).all()
            for schema, table in tables:
                parts.append(conn.scalar(sa.text(f"select string_agg(t::text, E'\\n') from {schema}.{table} t")) or "")
            parts += [str(v) for v in conn.scalars(sa.text("select setting from pg_settings"))]
    finally:
        engine.dispose()
    return "\n".join(parts)


def _prefect_text(since) -> str:
    """Everything the Prefect API holds about the flow runs started since then: runs, task runs, logs, artifacts."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            expected_start_time=FlowRunFilterExpectedStartTime(after_=since)))
        ids = [r.id for r in runs]
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)))
        logs, offset = [], 0
        while batch := client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)),
                                        limit=200, offset=offset):
            logs += batch
            offset += len(batch)
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(
            any_=ids)))
    assert len(runs) >= 5 and artifacts, "the runs did not reach the Prefect API"
    return "\n".join([r.model_dump_json() for r in runs] + [t.model_dump_json() for t in tasks]
                     + [log.model_dump_json() for log in logs] + [a.model_dump_json() for a in artifacts])


def test_sentinel_password_never_leaks(workspace, server_url, monkeypatch):
    """A password set on the warehouse role (and on the SMTP and Apprise URLs) is never printed or stored."""
    from typer.testing import CliRunner

    from apps.cli import app
    from tests.reliability.test_hostile import DOSSIER, _csv

    sentinel = f"SENTINEL-{uuid.uuid4().hex}"
    url, home, inbox, logs = workspace("secret")
    secret_url = url.set(password=sentinel)
    (inbox / "TTPVHCC" / "dossier").mkdir(parents=True)
    (inbox / "TTPVHCC" / "dossier" / "good.csv").write_bytes(_csv([DOSSIER, ["TTPVHCC", "2026-01", 10, 9, 8, 8]]))
    (inbox / "XA_CHILANG" / "dossier").mkdir(parents=True)
    (inbox / "XA_CHILANG" / "dossier" / "bad.csv").write_bytes(_csv([DOSSIER, ["XA_CHILANG", "2026-01", 10, 11, 8, 8]]))
    port = _closed_port()
    env = tools.cli_env(home, inbox, secret_url,
                        CHITIEU_SMTP_URL=f"smtp://alerts:{sentinel}-smtp@127.0.0.1:{port}",
                        CHITIEU_ALERT_URLS=f"json://hook:{sentinel}-apprise@127.0.0.1:{port}/notify")
    admin = admin_engine(server_url)
    records = _Records()
    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    logging.getLogger().addHandler(records)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"alter role {OWNER_ROLE} password '{sentinel}'"))
        # the console script, as an operator runs it
        run = tools.run_cli(["run", "--as-of", tools.AS_OF.isoformat()], env, logs, "run")
        tools.assert_clean_exit(run, "run with a password in the URL")
        outputs = [run.stdout, run.stderr]
        # rerun, report, and a warehouse that cannot be reached (URL and query-string passwords), in-process
        for key, value in env.items():
            if key.startswith("CHITIEU_"):
                monkeypatch.setenv(key, value)
        monkeypatch.setattr("chitieu.warehouse.time", SimpleNamespace(sleep=lambda seconds: None))  # no backoff
        runner = CliRunner()
        for args in (["rerun", "--unit", "TTPVHCC", "--feed", "dossier", "--as-of", tools.AS_OF.isoformat()],
                     ["report"]):
            result = runner.invoke(app, args)
            assert result.exit_code == 0, result.output
            outputs.append(result.output)
        for unreachable in (secret_url.set(query={"host": "/nonexistent-chitieu-socket-dir"}),
                            url.set(query={"host": "/nonexistent-chitieu-socket-dir", "password": sentinel})):
            monkeypatch.setenv("CHITIEU_WAREHOUSE_URL", unreachable.render_as_string(hide_password=False))
            result = runner.invoke(app, ["run", "--as-of", tools.AS_OF.isoformat()])
            assert result.exit_code == 1 and "chitieu: warehouse unreachable" in result.output, result.output
            outputs.append(result.output)
        with tools.check_engine(url).connect() as conn:
            alerts = conn.execute(sa.text("select channel, status, recipient, error from audit.alert")).all()
        assert {a.channel for a in alerts} == {"smtp", "apprise"} and {a.status for a in alerts} == {"failed"}
        places = {
            "CLI output": "\n".join(outputs),
            "log records": "\n".join(records.text),
            "files under CHITIEU_HOME": "\n".join(p.read_bytes().decode("utf-8", "replace")
                                                  for p in home.rglob("*") if p.is_file()),
            "warehouse tables and views": _warehouse_text(url),
            "Prefect runs, logs and artifacts": _prefect_text(started),
        }
        assert (home / "reports" / "report.html").exists()
        leaks = {where: [line[:300] for line in text.splitlines() if sentinel in line][:3]
                 for where, text in places.items() if sentinel in text}
        assert leaks == {}, f"the password shows in: {leaks}"
    finally:
        logging.getLogger().removeHandler(records)
        with admin.connect() as conn:
            conn.execute(sa.text(f"alter role {OWNER_ROLE} password null"))
        admin.dispose()
