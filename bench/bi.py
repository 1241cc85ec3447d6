"""BI reads at national scale (issue 21, target 3): what a dashboard issues, timed as a BI tool sees it.

Two warehouses, each built by the real pipeline (or reused from an earlier run under --work):

- national: a 3,321-commune catalog, 1 M disbursement rows (one file per commune) and one dossier month for every
  commune, ingested by `flows.ingest` in a fresh process (bench/child.py), as `make bench` does;
- demo: `chitieu demo` on the province's own catalog (the same-run baseline of every figure).

On each, through psycopg as the read-only BI role `chitieu_reader` (rows fetched to the client): the five queries
of a dashboard (attainment by unit, the province's monthly online rate, projects behind schedule, completeness by
month, the latest quality failures), then `select * from mart.<view>` and `select count(*) from mart.<view>` for
every view of `mart`. Median of 3 after one warm-up. The floor of a full read of 1 M rows: a plain
`COPY ... TO STDOUT` of a table holding the rows of mart.disbursement_progress, and `select *` of that table.

Prints a table and writes it into BENCHMARKS.md (section "BI reads at national scale").
Usage: python bench/bi.py [--work DIR] [--rows N] [--communes N] [--repeats N] [--rebuild] [--no-write] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: E402
    CHITIEU,
    REPO,
    Home,
    PrefectServer,
    base_env,
    machine,
    median,
    run_child,
    write_chunks,
)
from bench.national import build_catalog, write_disbursement_inbox, write_dossier_inbox  # noqa: E402

AS_OF = "2026-11-20"
LIMIT_S = 1.0
SECTION = "## BI reads at national scale"

# The five queries a dashboard issues (%(year)s: the as-of year).
DASHBOARD = {
    "attainment by unit": """
        select t.unit_code, u.name_vi, count(*) as targets,
               count(*) filter (where t.status = 'met') as met,
               count(*) filter (where t.status = 'not_met') as not_met,
               count(*) filter (where t.status = 'no_data') as no_data
        from mart.target_attainment t join mart.unit u using (unit_code)
        where t.year = %(year)s
        group by t.unit_code, u.name_vi
        order by t.unit_code""",
    "province monthly online rate": """
        select m.period, m.period_start, m.numerator, m.denominator, m.value
        from mart.metric_value m join mart.unit u on u.unit_code = m.unit_code and u.level = 'province'
        where m.metric_code = 'online_dossier_rate' and m.scope = 'month'
        order by m.period""",
    "projects behind schedule": """
        select unit_code, count(*) as projects_behind,
               sum(capital_plan_vnd * milestone_pct / 100 - disbursed_vnd) as shortfall_vnd
        from mart.disbursement_progress
        where status = 'behind'
        group by unit_code
        order by shortfall_vnd desc""",
    "completeness by month": """
        select period, period_start, feed,
               count(*) filter (where is_due) as due,
               count(*) filter (where is_due and received) as received,
               count(*) filter (where is_due and on_time) as on_time,
               round(100.0 * count(*) filter (where is_due and received)
                     / nullif(count(*) filter (where is_due), 0), 1) as completeness_pct
        from mart.reporting_rate
        group by period, period_start, feed
        order by period, feed""",
    "latest quality failures": """
        select received_at, unit_code, feed, file_name, expectation, severity, column_name, failed_rows, message_vi
        from mart.data_quality
        where severity <> 'info'
        order by received_at desc, check_id desc
        limit 100""",
}


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


# --- the warehouses ------------------------------------------------------------------------------


def _reader_url(home: Home) -> str:
    """The read-only BI role's URL (`chitieu warehouse --reader`)."""
    proc = subprocess.run([str(CHITIEU), "warehouse", "--reader"], env=home.env, capture_output=True, text=True,
                          check=True)
    return proc.stdout.strip().splitlines()[-1]


def _built(home: Path) -> dict | None:
    marker = home / "bi_built.json"
    return json.loads(marker.read_text()) if marker.exists() else None


def build_national(work: Path, env: dict[str, str], server: PrefectServer, rows: int, communes: int) -> dict:
    """The national warehouse through the real pipeline: the disbursement inbox, then a dossier month."""
    codes = build_catalog(REPO / "catalog", work / "catalog", communes)
    _say(f"national: writing {rows:,} disbursement rows for {len(codes):,} communes and a dossier month each")
    disbursement = write_disbursement_inbox(work / "inbox_disbursement", codes, rows)
    dossier = write_dossier_inbox(work / "inbox_dossier", codes)
    home = Home.create(work / "home_national", env)
    _say("national: ingesting the disbursement inbox")
    big = run_child(home, disbursement.root, AS_OF, server=server)
    _say(f"    {big['seconds']:.2f} s {big['counts']}; steps {_steps(big)}")
    _say("national: ingesting the dossier inbox")
    small = run_child(home, dossier.root, AS_OF, server=server)
    _say(f"    {small['seconds']:.2f} s {small['counts']}")
    built = {"rows": rows, "communes": len(codes), "disbursement_run": big, "dossier_run": small}
    (home.path / "bi_built.json").write_text(json.dumps(built, default=str))
    return built


def build_demo(work: Path, env: dict[str, str], server: PrefectServer) -> dict:
    """The Lạng Sơn demo warehouse: `chitieu demo` on the province's catalog."""
    home = Home.create(work / "home_demo", env)
    _say("demo: chitieu demo")
    started = time.perf_counter()
    subprocess.run([str(CHITIEU), "demo", "--as-of", AS_OF], check=True, stdout=subprocess.DEVNULL,
                   env={**home.env, "CHITIEU_INBOX": str(work / "inbox_demo"), "PREFECT_API_URL": server.url})
    built = {"seconds": time.perf_counter() - started}
    (home.path / "bi_built.json").write_text(json.dumps(built))
    return built


def _steps(run: dict) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in sorted(run["steps"].items(), key=lambda kv: -kv[1])[:5])


# --- the reads -----------------------------------------------------------------------------------


def _timed(conn, sql: str, params: dict | None, repeats: int) -> tuple[float, int, list[float]]:
    """Median seconds of execute + fetchall after one warm-up, and the rows fetched."""
    times, rows = [], 0
    for i in range(repeats + 1):
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute(sql, params)
            rows = len(cur.fetchall())
        if i:
            times.append(time.perf_counter() - started)
    return median(times), rows, times


def mart_views(conn) -> list[str]:
    return [r[0] for r in conn.execute(
        "select table_name from information_schema.tables where table_schema = 'mart' order by table_name")]


def measure(home: Home, repeats: int) -> dict:
    """Every dashboard query and every mart view read, as the BI role sees them."""
    import psycopg

    out: dict = {"queries": {}, "views": {}, "counts": {}}
    with psycopg.connect(_reader_url(home), autocommit=True) as conn:
        year = int(AS_OF[:4])
        for name, sql in DASHBOARD.items():
            seconds, rows, times = _timed(conn, sql, {"year": year}, repeats)
            out["queries"][name] = {"seconds": seconds, "rows": rows, "times": times}
            _say(f"    {name}: {seconds:.3f} s ({rows:,} rows)")
        for view in mart_views(conn):
            seconds, rows, times = _timed(conn, f"select * from mart.{view}", None, repeats)
            count_s, _, _ = _timed(conn, f"select count(*) from mart.{view}", None, repeats)
            out["views"][view] = {"seconds": seconds, "rows": rows, "times": times, "count_seconds": count_s}
            _say(f"    mart.{view}: {seconds:.3f} s ({rows:,} rows); count(*) {count_s:.3f} s")
    return out


def copy_floor(home: Home, repeats: int) -> dict:
    """The floor of a full read of mart.disbursement_progress: its rows as a plain table, read by COPY TO STDOUT
    and by select * (fetched to the client)."""
    import psycopg

    with psycopg.connect(home.url(), autocommit=True) as conn:
        conn.execute("drop table if exists public.bench_bi_floor")
        conn.execute("create table public.bench_bi_floor as select * from mart.disbursement_progress")
        rows = conn.execute("select count(*) from public.bench_bi_floor").fetchone()[0]
        copies = []
        for i in range(repeats + 1):
            started = time.perf_counter()
            size = 0
            with conn.cursor() as cur, cur.copy("copy public.bench_bi_floor to stdout") as copy:
                for block in copy:
                    size += len(block)
            if i:
                copies.append(time.perf_counter() - started)
        selects, views = [], []
        for _ in range(repeats):  # the table and the view alternately, so that the machine's load moves both
            selects.append(_timed(conn, "select * from public.bench_bi_floor", None, 1)[0])
            views.append(_timed(conn, "select * from mart.disbursement_progress", None, 1)[0])
        conn.execute("drop table public.bench_bi_floor")
    return {"rows": rows, "copy": median(copies), "copy_times": copies, "copy_mib": size / 2**20,
            "select": median(selects), "select_times": selects, "view": median(views), "view_times": views}


def maintenance_cost(home: Home, repeats: int) -> dict:
    """What keeping core.project_status costs a load: sql/load/refresh_project_status.sql for every disbursement
    submission of the warehouse (all its projects replaced, as a national load does in its batches), rolled back,
    against a raw COPY of as many fact rows into a plain table (the floor of figure 1 of `make bench`)."""
    import psycopg
    import sqlalchemy as sa

    from chitieu.warehouse import sql_statements
    from tasks.load import refresh_project_status_sql

    with psycopg.connect(home.url(), autocommit=True) as conn:
        data = bytearray()
        with conn.cursor() as cur, cur.copy(
                "copy (select project_code, project_name, unit_code, project_group, capital_plan_vnd, disbursed_vnd,"
                " as_of_date from core.fact_disbursement) to stdout") as copy:
            for block in copy:
                data += block
        conn.execute("create table if not exists public.bench_bi_copy (project_code text, project_name text,"
                     " unit_code text, project_group text, capital_plan_vnd bigint, disbursed_vnd bigint,"
                     " as_of_date date)")
    engine = sa.create_engine(home.url().replace("postgresql://", "postgresql+psycopg://", 1))
    statements = sql_statements(refresh_project_status_sql())
    refresh, copies, rows = [], [], 0
    try:
        for _ in range(repeats):
            with engine.connect() as conn:
                ids = list(conn.scalars(sa.text("select submission_id from audit.submission"
                                                " where feed = 'disbursement' and status <> 'duplicate'")))
                started = time.perf_counter()
                # the rows the script writes: its insert's count (its `set local` statements count -1)
                rows = max(conn.execute(sa.text(statement), {"ids": ids, "new_submissions": False}).rowcount
                           for statement in statements)
                refresh.append(time.perf_counter() - started)
                conn.rollback()
            with psycopg.connect(home.url(), autocommit=True) as raw:
                raw.execute("truncate public.bench_bi_copy")
                started = time.perf_counter()
                with raw.cursor() as cur, cur.copy("copy public.bench_bi_copy from stdin") as copy:
                    write_chunks(copy, data)
                copies.append(time.perf_counter() - started)
    finally:
        with psycopg.connect(home.url(), autocommit=True) as raw:
            raw.execute("drop table if exists public.bench_bi_copy")
            raw.execute("vacuum full core.project_status")  # the rolled-back rows gone before the next run reads it
        engine.dispose()
    return {"rows": rows, "refresh": median(refresh), "refresh_times": refresh, "copy": median(copies),
            "copy_times": copies}


# --- the report ----------------------------------------------------------------------------------


def _cell(m: dict) -> str:
    return f"{m['seconds']:.3f} s ({m['rows']:,} rows)"


def render(r: dict) -> str:
    nat, demo, floor = r["national"], r["demo"], r.get("floor")
    lines = [
        SECTION,
        "",
        f"Written by `bench/bi.py` on {r['date']} (load average at start {r['load']}: the 2-core machine was shared "
        "with other work, so read the ratios, not the absolute seconds). Through psycopg as the read-only role "
        "`chitieu_reader`, every row fetched to the client; median of "
        f"{r['repeats']} after one warm-up. National: {r['meta']['communes']:,} communes, "
        f"{r['meta']['rows']:,} disbursement rows and one dossier month per commune, loaded by the pipeline; "
        "baseline: the same query on the Lạng Sơn demo warehouse (`chitieu demo`), same run.",
        "",
        "| read | national | demo (baseline) | national / demo | ≤ 1 s |",
        "|---|---|---|---|---|",
    ]

    def row(label: str, a: dict, b: dict) -> str:
        ok = "yes" if a["seconds"] <= LIMIT_S else "**no**"
        return f"| {label} | {_cell(a)} | {_cell(b)} | {a['seconds'] / max(b['seconds'], 1e-6):.0f}× | {ok} |"

    for name in DASHBOARD:
        lines.append(row(name, nat["queries"][name], demo["queries"][name]))
    for view in sorted(nat["views"]):
        a, b = nat["views"][view], demo["views"].get(view, {"seconds": float("nan"), "rows": 0})
        lines.append(row(f"`select * from mart.{view}`", a, b))
    lines += ["", "`count(*)` of each view:", "", "| view | national | demo |", "|---|---|---|"]
    for view in sorted(nat["views"]):
        lines.append(f"| mart.{view} | {nat['views'][view]['count_seconds']:.3f} s | "
                     f"{demo['views'].get(view, {}).get('count_seconds', float('nan')):.3f} s |")
    if floor:
        lines += ["", f"Floor of a full read of mart.disbursement_progress ({floor['rows']:,} rows): the same rows as "
                  f"a plain table, `COPY ... TO STDOUT` {floor['copy']:.3f} s ({floor['copy_mib']:.0f} MiB; "
                  f"{_times(floor['copy_times'])}), `select *` fetched by psycopg {floor['select']:.3f} s "
                  f"({_times(floor['select_times'])}); alternating with it, `select * from mart.disbursement_progress` "
                  f"{floor.get('view', float('nan')):.3f} s ({_times(floor.get('view_times', []))})."]
    kept = r.get("maintenance")
    if kept:
        lines += ["", f"What core.project_status costs the load: replacing the rows of every unit "
                  f"({kept['rows']:,} projects, `sql/load/refresh_project_status.sql`, rolled back) took "
                  f"{kept['refresh']:.2f} s ({_times(kept['refresh_times'])}), "
                  f"{kept['refresh'] / kept['rows'] * 1e6:.2f} s per million rows; a raw `COPY` of as many fact rows "
                  "into a plain table, same run: "
                  f"{kept['copy']:.2f} s ({_times(kept['copy_times'])}), so {kept['refresh'] / kept['copy']:.2f}× the "
                  "COPY floor of the load."]
    notes = Path(__file__).resolve().parent / "bi_findings.md"
    if notes.exists():
        lines += ["", notes.read_text(encoding="utf-8").rstrip()]
    return "\n".join(lines) + "\n"


def _times(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values) + " s"


def write_section(section: str, path: Path = REPO / "BENCHMARKS.md") -> None:
    """Put the section into BENCHMARKS.md, replacing an earlier one (up to the next `## ` heading)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# chitieu benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |^<!-- |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def keep_section(new_text: str, path: Path = REPO / "BENCHMARKS.md") -> str:
    """`new_text` with the BI section of the current BENCHMARKS.md appended (run_all rewrites the file whole)."""
    if not path.exists():
        return new_text
    match = re.search(rf"^{re.escape(SECTION)}\n.*?(?=^## |^<!-- |\Z)", path.read_text(encoding="utf-8"), re.S | re.M)
    return new_text if match is None or SECTION in new_text else new_text.rstrip("\n") + "\n\n" + match.group(0)


# --- main ----------------------------------------------------------------------------------------


def run(work: Path, *, rows: int = 1_000_000, communes: int = 3_321, repeats: int = 3, rebuild: bool = False,
        write: bool = True, keep: bool = False, server: PrefectServer | None = None) -> dict:
    """Build or reuse both warehouses under `work`, measure, print the table, write BENCHMARKS.md."""
    work = work.resolve()
    if rebuild and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    national_env = base_env(work, work / "catalog")
    demo_env = base_env(work, REPO / "catalog")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    homes = [Home(work / "home_national", {**national_env, "CHITIEU_HOME": str(work / "home_national")}),
             Home(work / "home_demo", {**demo_env, "CHITIEU_HOME": str(work / "home_demo")})]
    built = {"national": _built(homes[0].path), "demo": _built(homes[1].path)}
    try:
        if None in built.values():
            for name, value in built.items():
                if value is None and (work / f"home_{name}").exists():
                    homes[0 if name == "national" else 1].stop()
                    shutil.rmtree(work / f"home_{name}")
            own = server is None
            server = server or PrefectServer(work / "prefect_server", national_env)
            if own:
                server.__enter__()
            try:
                if built["national"] is None:
                    built["national"] = build_national(work, national_env, server, rows, communes)
                if built["demo"] is None:
                    built["demo"] = build_demo(work, demo_env, server)
            finally:
                if own:
                    server.__exit__(None, None, None)
        else:
            _say(f"reusing the warehouses under {work} (`chitieu init` upgrades them first)")
            for home in homes:
                subprocess.run([str(CHITIEU), "init"], env=home.env, check=True, stdout=subprocess.DEVNULL)
        results: dict = {"date": time.strftime("%Y-%m-%d"), "load": load, "repeats": repeats,
                         "machine": machine(), "built": built,
                         "meta": {"rows": built["national"]["rows"], "communes": built["national"]["communes"]}}
        _say("national warehouse: dashboard queries and mart views")
        results["national"] = measure(homes[0], repeats)
        _say("demo warehouse: the same")
        results["demo"] = measure(homes[1], repeats)
        _say("floor: the rows of mart.disbursement_progress as a plain table")
        results["floor"] = copy_floor(homes[0], repeats)
        _say("the load's share: core.project_status replaced for every unit, vs a raw COPY of as many rows")
        results["maintenance"] = maintenance_cost(homes[0], repeats)
        _say(f"    {results['maintenance']}")
    finally:
        if not keep:
            for home in homes:
                home.stop()
    (work / "bi_results.json").write_text(json.dumps(results, indent=1, default=str))
    section = render(results)
    print()
    print(section)
    if write:
        write_section(section)
        _say(f"wrote the section into {REPO / 'BENCHMARKS.md'}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "out" / "bi")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--communes", type=int, default=3_321)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="build both warehouses again")
    parser.add_argument("--no-write", action="store_true", help="do not write BENCHMARKS.md")
    parser.add_argument("--keep", action="store_true", help="leave the PostgreSQL servers running")
    parser.add_argument("--report-only", action="store_true", help="rewrite the section from <work>/bi_results.json")
    args = parser.parse_args()
    if args.report_only:
        section = render(json.loads((args.work / "bi_results.json").read_text()))
        print(section)
        if not args.no_write:
            write_section(section)
        return
    run(args.work, rows=args.rows, communes=args.communes, repeats=args.repeats, rebuild=args.rebuild,
        write=not args.no_write, keep=args.keep)


if __name__ == "__main__":
    main()
