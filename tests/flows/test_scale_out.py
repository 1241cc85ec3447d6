"""Scale-out: the ingest flow spreads partitions of units over a Dask cluster (prefect-dask), same results."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa

from chitieu.errors import ConfigError
from chitieu.packs import read_member
from flows.ingest import _partitions, ingest, make_task_runner
from tests.conftest import fresh_database
from tests.feeds import DISB, DOSSIER, write_csv

distributed = pytest.importorskip("distributed")
pytest.importorskip("prefect_dask")

AS_OF = dt.date(2026, 11, 20)
COMMUNES = ["XA_CHILANG", "XA_DONGDANG", "XA_CAOLOC", "XA_HUULUNG", "XA_LOCBINH", "XA_MAUSON"]


def _write_inbox(inbox) -> None:
    for i, unit in enumerate(COMMUNES):
        write_csv(inbox, unit, "dossier", "t10.csv", DOSSIER,
                  [[unit, "2026-09", 100 + i, 90, 80, 79], [unit, "2026-10", 120 + i, 100 + i, 90, 85]])
        write_csv(inbox, unit, "disbursement", "gn.csv", DISB,
                  [[f"{unit}-{n}", f"Dự án {n}", unit, "transitional", 1_000_000 * (n + 1), 400_000 * (n + 1),
                    "2026-10-31"] for n in range(20)])
    write_csv(inbox, "XA_MAUSON", "dossier", "sai.csv", DOSSIER, [["XA_MAUSON", "2026-08", 10, 11, 5, 5]])


def _snapshot(engine) -> tuple:
    with engine.connect() as conn:
        return (
            conn.execute(sa.text("select unit_code, feed, file_name, status, rows_total, rows_failed, version,"
                                 " is_current from mart.submission_log order by file_name")).all(),
            conn.execute(sa.text("select metric_code, unit_code, period, scope, numerator, denominator, value"
                                 " from mart.metric_value order by 1, 2, 3, 4")).all(),
            conn.execute(sa.text("select count(*), sum(disbursed_vnd) from core.fact_disbursement")).one(),
            conn.execute(sa.text("select unit_code, expectation, failed_rows from mart.data_quality")).all(),
        )


@pytest.fixture(scope="module")
def cluster():
    """A local Dask cluster of 2 worker processes, like two machines of a small deployment."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as local:
        yield local


def test_partitions_keep_a_units_files_together_and_in_order(env):
    from chitieu.landing import LandedFile

    files = [LandedFile(env["inbox"] / f"{u}{n}", f"{u}/dossier/{n}", u, "dossier", str(n), 100 * n + 1,
                        dt.datetime(2026, 11, n + 1, tzinfo=dt.UTC)) for n, u in enumerate("ABACBDA")]
    parts = _partitions(files, 3)
    assert len(parts) == 3
    assert sorted(f.rel_path for part in parts for f in part) == sorted(f.rel_path for f in files)
    for part in parts:
        assert len({f.unit_code for f in part} & {f.unit_code for p in parts if p is not part for f in p}) == 0
        assert [files.index(f) for f in part] == sorted(files.index(f) for f in part)


def test_task_runner_choice():
    assert make_task_runner(None) is None and make_task_runner("local") is None
    assert make_task_runner("dask").address is None
    assert make_task_runner("dask:tcp://10.0.0.5:8786").address == "tcp://10.0.0.5:8786"
    with pytest.raises(ConfigError, match="CHITIEU_TASK_RUNNER"):
        make_task_runner("ray")


def _in_process_snapshot(server_url, template_url, tmp_path, monkeypatch, expected_outcomes) -> tuple:
    """The same inbox loaded by the default in-process runner (one connection) on a fresh warehouse."""
    import tasks.load

    monkeypatch.setattr(tasks.load, "LOAD_LANES", 1)
    with fresh_database(server_url, template_url) as url:
        monkeypatch.setenv("CHITIEU_WAREHOUSE_URL", url.render_as_string(hide_password=False))
        monkeypatch.setenv("CHITIEU_HOME", str(tmp_path / "home2"))
        local = ingest(as_of=AS_OF, task_runner="local")
        assert [(o.file_name, o.status) for o in local.outcomes] == expected_outcomes
        fresh = sa.create_engine(url, poolclass=sa.pool.NullPool)
        in_process = _snapshot(fresh)
        fresh.dispose()
    return in_process


def test_dask_cluster_of_two_workers_gives_the_same_warehouse(env, engine, cluster, tmp_path, server_url,
                                                               template_url, monkeypatch):
    """The same inbox through the default in-process runner and through 2 Dask workers: identical results."""
    _write_inbox(env["inbox"])
    with distributed.Client(cluster) as client, distributed.get_task_stream(client) as stream:
        summary = ingest(as_of=AS_OF, task_runner=f"dask:{cluster.scheduler_address}")
    assert summary.counts() == {"loaded": 12, "rejected": 1}
    workers = {t["worker"] for t in stream.data if str(t["key"]).startswith("process_partition")}
    assert len(workers) == 2, stream.data
    on_dask = _snapshot(engine)
    in_process = _in_process_snapshot(server_url, template_url, tmp_path, monkeypatch,
                                      [(o.file_name, o.status) for o in summary.outcomes])
    assert on_dask == in_process


def test_parallel_load_lanes_give_the_same_warehouse(env, engine, tmp_path, server_url, template_url, monkeypatch):
    """A large load spreads whole units over parallel connections: the warehouse is the same as one connection's."""
    import tasks.load

    _write_inbox(env["inbox"])
    monkeypatch.setattr(tasks.load, "LANE_MIN_ROWS", 1)
    monkeypatch.setattr(tasks.load, "LOAD_LANES", 3)
    monkeypatch.setattr(tasks.load, "BATCH_ROWS", 25)  # several batches per lane
    summary = ingest(as_of=AS_OF)
    assert summary.counts() == {"loaded": 12, "rejected": 1}
    in_lanes = _snapshot(engine)
    in_process = _in_process_snapshot(server_url, template_url, tmp_path, monkeypatch,
                                      [(o.file_name, o.status) for o in summary.outcomes])
    assert in_lanes == in_process


def _two_runs(inbox) -> list:
    """An October run, then November files for half the communes at a later as-of date (the sweep of every unit's
    stock metrics then meets the units a part already derived)."""
    _write_inbox(inbox)
    first = ingest(as_of=AS_OF)
    for unit in COMMUNES[:3]:
        write_csv(inbox, unit, "disbursement", "gn11.csv", DISB,
                  [[f"{unit}-{n}", f"Dự án {n}", unit, "transitional", 1_000_000 * (n + 1), 500_000 * (n + 1),
                    "2026-11-30"] for n in range(20)])
    second = ingest(as_of=dt.date(2026, 12, 5))
    return [(o.file_name, o.status) for o in first.outcomes + second.outcomes]


def test_pipelined_parts_settle_each_parts_facts(env, engine, monkeypatch):
    """Each loaded part's facts are settled (the BRIN ranges it filled summarised, the table's statistics refreshed)
    by a step of their own beside the next part's load, not by the load: every part of a large feed still gets it."""
    import flows.ingest
    import tasks.load

    parts_seen = []

    def spy(files, count):
        parts = _partitions(files, count)
        parts_seen.append((files[0].feed, len(parts)) if files else None)
        return parts

    monkeypatch.setattr(flows.ingest, "_partitions", spy)
    monkeypatch.setattr(flows.ingest, "PART_BYTES", 1_500)
    monkeypatch.setattr(tasks.load, "SUMMARIZE_MIN_ROWS", 1)  # national sizes in miniature
    monkeypatch.setattr(tasks.load, "ANALYZE_MIN_ROWS", 1)
    _write_inbox(env["inbox"])
    ingest(as_of=AS_OF)
    parts = dict(p for p in parts_seen if p)
    assert parts["disbursement"] >= 3, parts
    with engine.connect() as conn:
        analysed = dict(conn.execute(sa.text(
            "select relname, analyze_count from pg_stat_user_tables where schemaname = 'core'"
            " and relname in ('fact_disbursement', 'fact_dossier')")).all())
        unsummarised = conn.scalar(sa.text("select brin_summarize_new_values('core.fact_disbursement_submission')"))
    assert analysed["fact_disbursement"] >= parts["disbursement"], (analysed, parts)
    assert analysed["fact_dossier"] >= parts["dossier"], (analysed, parts)
    assert unsummarised == 0


def test_pipelined_parts_read_each_parts_previous_figures_ahead(env, engine, monkeypatch):
    """A disbursement part's previous cumulative figures are read in a thread while the part is parsed, and its
    checks still warn on every figure below its unit's previous one, in every part."""
    import threading

    import flows.ingest
    import tasks.validate

    monkeypatch.setattr(flows.ingest, "PART_BYTES", 1_500)
    _write_inbox(env["inbox"])
    ingest(as_of=AS_OF)
    reads = []
    original = tasks.validate._previous_disbursed
    monkeypatch.setattr(tasks.validate, "_previous_disbursed", lambda engine, units: (
        reads.append((threading.current_thread().name, len(units))), original(engine, units))[1])
    for unit in COMMUNES:  # November: every project further disbursed, but the first one below October's figure
        write_csv(env["inbox"], unit, "disbursement", "gn_11.csv", DISB,
                  [[f"{unit}-{n}", f"Dự án {n}", unit, "transitional", 1_000_000 * (n + 1),
                    (300_000 if n == 0 else 500_000) * (n + 1), "2026-11-15"] for n in range(20)])
    summary = ingest(as_of=AS_OF)
    assert len(reads) >= 3 and all(name.startswith("previous-figures") for name, _ in reads), reads
    assert sum(count for _, count in reads) == len(COMMUNES)
    warned = {o.unit_code: [f.expectation for f in o.failures] for o in summary.outcomes}
    assert warned == {unit: ["cumulative_not_decreasing"] for unit in COMMUNES}, warned
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select unit_code, failed_rows from mart.data_quality"
                                    " where expectation = 'cumulative_not_decreasing'")).all()
    assert sorted(rows) == sorted((unit, 1) for unit in COMMUNES)


def test_pipelined_parts_give_the_same_warehouse(env, engine, tmp_path, server_url, template_url, monkeypatch):
    """A feed split into parts (archived, loaded and derived while the next part is parsed) ends in the same
    warehouse, archive and metrics as one batch per feed."""
    import flows.ingest

    parts_seen = []

    def spy(files, count):
        parts = _partitions(files, count)
        parts_seen.append(len(parts))
        return parts

    monkeypatch.setattr(flows.ingest, "_partitions", spy)
    monkeypatch.setattr(flows.ingest, "PART_BYTES", 1_500)  # several parts per feed
    outcomes = _two_runs(env["inbox"])
    assert max(parts_seen) >= 3, parts_seen
    pipelined = _snapshot(engine)
    with engine.connect() as conn:
        archived = conn.execute(sa.text("select archive_path, archive_member, sha256 from audit.submission"
                                        " where status <> 'duplicate'")).all()
    assert len({path for path, _, _ in archived}) >= 3  # one pack per part
    for path, member, sha256 in archived:  # every submission's bytes read back from its part's pack
        assert member == f"{sha256}.csv"
        assert hashlib.sha256(read_member(path, member)).hexdigest() == sha256
    monkeypatch.setattr(flows.ingest, "PART_BYTES", 10**12)
    parts_seen.clear()
    with fresh_database(server_url, template_url) as url:
        monkeypatch.setenv("CHITIEU_WAREHOUSE_URL", url.render_as_string(hide_password=False))
        monkeypatch.setenv("CHITIEU_HOME", str(tmp_path / "home2"))
        inbox = tmp_path / "inbox2"
        inbox.mkdir()
        monkeypatch.setenv("CHITIEU_INBOX", str(inbox))
        assert _two_runs(inbox) == outcomes
        assert max(parts_seen) == 1
        fresh = sa.create_engine(url, poolclass=sa.pool.NullPool)
        assert _snapshot(fresh) == pipelined
        fresh.dispose()
