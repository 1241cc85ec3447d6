"""chitieu benchmarks at national scale (`make bench`): five figures, each against a baseline of the same run.

1. 1 M disbursement rows in 3,321 files (one per commune): a full ingest pass (discover, parse, validate, load,
   derive, alert, Data Docs, publish) vs a raw PostgreSQL COPY of the same rows into a plain table of the same
   database (the floor).
2. 3,321 one-row dossier files: files per second beyond the fixed overhead (a pass over an empty inbox).
3. A one-unit correction (one new file of one commune) on the 1 M-row warehouse vs the same correction on a
   near-empty warehouse (the same catalog, only that commune's data).
4. The fixed overhead of `chitieu run` on an empty inbox, start to exit, with a Prefect server configured
   (PREFECT_API_URL) and without one (chitieu's own local server, `chitieu prefect-server`).
5. Peak RSS of the process that ran (1).
6. One 100,000-row disbursement file of one unit: rows/s of a full ingest pass vs a raw COPY of the same rows.
1'. The national pass as a user types `chitieu run` (process start to exit, minus the same command on an empty
   inbox) vs reading the same files and COPYing their rows, committed; 5'. peak RSS of any one of its processes
   (bench/as_typed.py, its own section).
7. `chitieu report` on a national warehouse vs on the demo's (bench/report_national.py, its own section).
Then bench/bi.py: the BI reads of a dashboard and of every mart view, national vs the demo warehouse (its own
section of BENCHMARKS.md).

Everything lives under bench/out/ (git-ignored): the generated catalog and inboxes, one CHITIEU_HOME (embedded
PostgreSQL) per warehouse, a Prefect server's home. Prints a table and writes BENCHMARKS.md at the repo root.
Usage: python bench/run_all.py [--rows N] [--communes N] [--repeats N] [--no-write] [--keep] [--profile]
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import as_typed, report_national  # noqa: E402
from bench.bi import keep_section  # noqa: E402
from bench.bi import run as run_bi  # noqa: E402
from bench.harness import (  # noqa: E402
    REPO,
    Home,
    PrefectServer,
    base_env,
    cli_seconds,
    copy_floor,
    machine,
    median,
    run_child,
)
from bench.national import (  # noqa: E402
    build_catalog,
    write_correction,
    write_disbursement_inbox,
    write_dossier_inbox,
    write_next_month,
    write_single_file,
)

AS_OF = "2026-11-20"
TARGETS = {"run_vs_copy": 3.0, "files_per_s": 500, "correction_ratio": 1.2, "overhead_s": 3.0, "rss_mb": 1024}


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def _copy_into(src: Path, inbox: Path, unit: str) -> None:
    target = inbox / unit / "disbursement" / src.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--communes", type=int, default=3_321)
    parser.add_argument("--single-rows", type=int, default=100_000, help="rows of the one-file measure (6)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the cheap measurements (median kept)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    parser.add_argument("--no-write", action="store_true", help="do not write BENCHMARKS.md")
    parser.add_argument("--keep", action="store_true", help="leave the PostgreSQL servers running")
    parser.add_argument("--profile", action="store_true", help="write pyinstrument profiles of the children")
    parser.add_argument("--report-only", action="store_true", help="rewrite BENCHMARKS.md from out/results.json")
    parser.add_argument("--skip-data-docs", action="store_true",
                        help="comparisons only: replace the Data Docs step by a no-op in every measured run")
    args = parser.parse_args()
    out = args.out.resolve()
    if args.report_only:
        _write_report(json.loads((out / "results.json").read_text()), write=not args.no_write)
        return
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    started = time.perf_counter()

    # --- inputs ------------------------------------------------------------------------------
    _say(f"generating a {args.communes}-commune catalog and inboxes under {out}")
    communes = build_catalog(REPO / "catalog", out / "catalog", args.communes)
    national = write_disbursement_inbox(out / "inbox_national", communes, args.rows, copy_csv=out / "floor.csv")
    dossier = write_dossier_inbox(out / "inbox_dossier", communes)
    single = write_single_file(out / "inbox_single", communes[0], args.single_rows, out / "single.csv")
    empty = out / "inbox_empty"
    empty.mkdir()
    unit = communes[-1]
    original = out / "inbox_national" / unit / "disbursement" / "giai_ngan_2026_10.csv"
    unit_rows = sum(1 for _ in original.open(encoding="utf-8")) - 1
    near_empty_inbox = out / "inbox_near_empty"
    _copy_into(original, near_empty_inbox, unit)
    corrections = [write_correction(out / "corrections", unit, unit_rows, v) for v in range(1, 2 * args.repeats + 1)]
    _say(f"  {national.rows:,} disbursement rows in {national.files:,} files ({national.bytes / 2**20:.0f} MiB); "
         f"{dossier.files:,} dossier files; correction: {unit} ({unit_rows} rows)")

    env = base_env(out, out / "catalog")
    if args.skip_data_docs:
        global run_child
        run_child = functools.partial(run_child, skip=("build_data_docs",))
    profiles = out / "profiles" if args.profile else None
    if profiles:
        profiles.mkdir()
    homes: list[Home] = []
    results: dict = {"machine": machine()}
    try:
        with PrefectServer(out / "prefect_server", env) as server:
            _say(f"prefect server at {server.url}; creating warehouses")
            national_home = Home.create(out / "home_national", env)
            near_empty_home = Home.create(out / "home_near_empty", env)
            small_home = Home.create(out / "home_small_files", env)
            single_home = Home.create(out / "home_single", env)
            homes += [national_home, near_empty_home, small_home, single_home]
            results["machine"]["postgres"] = national_home.postgres_version()

            # --- (1) 1 M rows vs COPY, (5) peak RSS ----------------------------------------------
            # repeated on fresh warehouses (this machine's noise moves one run by ±20 %); the median run is kept
            runs = []
            for i in range(args.repeats):
                if i:
                    national_home.stop()
                    shutil.rmtree(national_home.path)
                    national_home = Home.create(out / f"home_national_{i}", env)
                    homes.append(national_home)
                _say(f"(1) #{i + 1}: raw COPY floor")
                floor = copy_floor(national_home, out / "floor.csv", 2)
                _say("    full ingest of the national inbox")
                big = run_child(national_home, national.root, AS_OF, server=server,
                                profile=profiles / f"national_{i + 1}.txt" if profiles else None)
                floor += copy_floor(national_home, out / "floor.csv", 1)
                runs.append({"run": big, "floor": floor})
                _say(f"    {big['seconds']:.2f} s, {big['counts']}, peak RSS {big['maxrss_mb']:.0f} MB; "
                     f"COPY {', '.join(f'{t:.2f}' for t in floor)} s")
            runs.sort(key=lambda x: x["run"]["seconds"] / median(x["floor"]))
            results["national"], results["floor"] = runs[len(runs) // 2]["run"], runs[len(runs) // 2]["floor"]
            results["national_runs"] = runs

            # --- (3) one-unit correction on 1 M rows vs near-empty ------------------------------
            _say("(3) one-unit corrections: national vs near-empty warehouse")
            run_child(near_empty_home, near_empty_inbox, AS_OF, server=server)  # the unit's original file
            pairs, alone = [], []
            for i in range(args.repeats):
                # as in production: the inbox still holds every file seen before
                correction = corrections[2 * i]
                _copy_into(correction, national.root, unit)
                on_national = run_child(national_home, national.root, AS_OF, server=server, profile=(
                    profiles / f"correction_national_{i + 1}.txt" if profiles else None))
                _copy_into(correction, near_empty_inbox, unit)
                on_near_empty = run_child(near_empty_home, near_empty_inbox, AS_OF, server=server, profile=(
                    profiles / f"correction_near_empty_{i + 1}.txt" if profiles else None))
                pairs.append((on_national, on_near_empty))
                # the warehouse alone: an inbox holding just the new file
                correction = corrections[2 * i + 1]
                for inbox in (out / f"inbox_alone_national_{i}", out / f"inbox_alone_near_empty_{i}"):
                    _copy_into(correction, inbox, unit)
                alone.append((run_child(national_home, out / f"inbox_alone_national_{i}", AS_OF, server=server),
                              run_child(near_empty_home, out / f"inbox_alone_near_empty_{i}", AS_OF, server=server)))
                _say(f"    #{i + 1}: full inbox {on_national['seconds']:.2f} s vs {on_near_empty['seconds']:.2f} s; "
                     f"new file alone {alone[-1][0]['seconds']:.2f} s vs {alone[-1][1]['seconds']:.2f} s")
            results["corrections"], results["corrections_alone"] = pairs, alone

            # --- (8) the next month: every unit reports again, on the national warehouse ----------
            _say("(8) the next month's national pass (every unit known, its October file still in the inbox)")
            write_next_month(national.root, communes, args.rows)
            month = run_child(national_home, national.root, AS_OF, server=server,
                              profile=profiles / "next_month.txt" if profiles else None)
            _say(f"    {month['seconds']:.2f} s, {month['counts']}; first month (figure 1, median run) "
                 f"{results['national']['seconds']:.2f} s")
            results["next_month"] = month

            # --- (4) fixed overhead of `chitieu run` ---------------------------------------------
            _say("(4) fixed overhead: `chitieu run` on an empty inbox")
            cli_seconds(small_home, empty, AS_OF, server=server, prefect_home=out / "prefect_client")  # warm-up
            with_server = [cli_seconds(small_home, empty, AS_OF, server=server, prefect_home=out / "prefect_client")
                           for _ in range(args.repeats)]
            ephemeral = [cli_seconds(small_home, empty, AS_OF, server=None, prefect_home=out / "prefect_ephemeral")
                         for _ in range(max(2, args.repeats - 1))]
            _say(f"    with server {', '.join(f'{t:.2f}' for t in with_server)} s; "
                 f"ephemeral {', '.join(f'{t:.2f}' for t in ephemeral)} s")
            results["overhead"] = {"server": with_server, "ephemeral": ephemeral}

            # --- (2) small files per second --------------------------------------------------------
            _say("(2) 3,321 small dossier files vs an empty pass")
            empty_runs = [run_child(small_home, empty, AS_OF, server=server) for _ in range(args.repeats)]
            files_run = run_child(small_home, dossier.root, AS_OF, server=server,
                                  profile=profiles / "small_files.txt" if profiles else None)
            _say(f"    empty {_seconds([r['seconds'] for r in empty_runs])} s; "
                 f"{dossier.files} files {files_run['seconds']:.2f} s {files_run['counts']}")
            results["small"] = {"empty": empty_runs, "files": files_run, "n": dossier.files}

            # --- (6) one 100k-row file vs COPY ---------------------------------------------------
            _say(f"(6) one {single.rows:,}-row disbursement file vs a raw COPY of its rows")
            single_floor = copy_floor(single_home, single.copy_csv, args.repeats)
            single_run = run_child(single_home, single.root, AS_OF, server=server,
                                   profile=profiles / "single_file.txt" if profiles else None)
            single_floor += copy_floor(single_home, single.copy_csv, 1)
            _say(f"    COPY {_seconds(single_floor)} s; ingest {single_run['seconds']:.2f} s {single_run['counts']}")
            results["single"] = {"floor": single_floor, "run": single_run, "rows": single.rows}
    finally:
        if not args.keep:
            for home in homes:
                home.stop()
    results["elapsed"] = time.perf_counter() - started
    results["meta"] = {"rows": national.rows, "files": national.files, "mib": national.bytes / 2**20,
                       "unit": unit, "unit_rows": unit_rows, "communes": len(communes)}
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    _write_report(results, write=not args.no_write)

    # --- (1') the national pass as typed, (5') peak RSS of its processes (bench/as_typed.py, its own section) -----
    _say("(1') `chitieu run` as typed on the national inbox vs reading and COPYing its files")
    as_typed.main(["--rows", str(args.rows), "--communes", str(args.communes), "--repeats", str(args.repeats),
                   "--out", str(out / "as_typed"), *(["--no-write"] if args.no_write else []),
                   *(["--keep"] if args.keep else [])])

    # --- BI reads at national scale: bench/bi.py, its own warehouses, its own section of BENCHMARKS.md ------
    _say("BI reads at national scale (bench/bi.py)")
    run_bi(out / "bi", rows=args.rows, communes=args.communes, repeats=args.repeats, write=not args.no_write,
           keep=args.keep)

    # --- (7) the report at national scale (its own warehouses; writes its own section) -------------
    _say("(7) `chitieu report`: national warehouse vs the demo's")
    report_national.main(["--communes", str(args.communes), "--repeats", str(args.repeats), "--out",
                          str(out / "report"), *(["--no-write"] if args.no_write else []),
                          *(["--keep"] if args.keep else [])])


def _write_report(results: dict, *, write: bool) -> None:
    table = render(results)
    print()
    print(table)
    if write:  # the BI section (bench/bi.py) and figure 7's section are kept until their benches rewrite them
        path = REPO / "BENCHMARKS.md"
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        path.write_text(keep_section(table), encoding="utf-8")
        for begin, end in ((as_typed.BEGIN, as_typed.END), (report_national.BEGIN, report_national.END)):
            if begin in old and end in old:
                kept = old.split(begin, 1)[1].split(end, 1)[0]
                report_national.write_section(path, begin + kept + end + "\n", begin, end)
        _say(f"wrote {path}")


# --- the report ---------------------------------------------------------------------------------


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _ok(met: bool) -> str:
    return "yes" if met else "**no**"


def _docs(run: dict) -> float:
    """Seconds of the run's Great Expectations Data Docs step."""
    return run["steps"].get("build_data_docs", 0.0)


def _without_docs(run: dict) -> float:
    return run["seconds"] - _docs(run)


def _ratio_row(label: str, runs: list[tuple[dict, dict]], meta: dict) -> str:
    nat, near = [p[0]["seconds"] for p in runs], [p[1]["seconds"] for p in runs]
    nat_nd, near_nd = [_without_docs(p[0]) for p in runs], [_without_docs(p[1]) for p in runs]
    ratio, ratio_nd = median(nat) / median(near), median(nat_nd) / median(near_nd)
    return (f"| {label} | {median(nat):.2f} s ({median(nat_nd):.2f} s without Data Docs) | same correction, "
            f"near-empty warehouse: {median(near):.2f} s ({median(near_nd):.2f} s) | {ratio:.2f} ({ratio_nd:.2f}) "
            f"| ≤ 1.2 | {_ok(ratio <= TARGETS['correction_ratio'])} ({'yes' if ratio_nd <= 1.2 else 'no'}) |")


def _single_row(r: dict) -> str:
    if "single" not in r:
        return ""
    one = r["single"]
    floor, run, rows = median(one["floor"]), one["run"], one["rows"]
    load = run["steps"].get("load_submissions", 0.0)
    return (f"| 6 | one {rows:,}-row disbursement file (issue 3) | {rows / run['seconds']:,.0f} rows/s "
            f"({run['seconds']:.2f} s; its load step alone {rows / max(load, 1e-9):,.0f} rows/s, {load:.2f} s) | "
            f"raw `COPY` of the same rows: {rows / floor:,.0f} rows/s ({floor:.2f} s) | "
            f"{run['seconds'] / floor:.1f}× the time (load step {load / floor:.1f}×) | — | — |")


def _next_month_row(r: dict) -> str:
    if "next_month" not in r:
        return ""
    month, first, floor = r["next_month"], r["national"], median(r["floor"])
    return (f"| 8 | the next month: {r['meta']['files']:,} new files, every unit known, its October file still in "
            f"the inbox | {month['seconds']:.2f} s ({month['seconds'] / floor:.1f}× the COPY floor of 1) | the first "
            f"month (figure 1): {first['seconds']:.2f} s | {month['seconds'] / first['seconds']:.2f} | — | — |")


def render(r: dict) -> str:
    m, meta = r["machine"], r["meta"]
    big, floor = r["national"], median(r["floor"])
    run_ratio, run_ratio_nd = big["seconds"] / floor, _without_docs(big) / floor
    server_s, ephemeral_s = median(r["overhead"]["server"]), median(r["overhead"]["ephemeral"])
    empty_s = median([x["seconds"] for x in r["small"]["empty"]])
    files = r["small"]["files"]
    per_s = r["small"]["n"] / max(files["seconds"] - empty_s, 1e-9)
    per_s_nd = r["small"]["n"] / max(_without_docs(files) - empty_s, 1e-9)
    rss = big["maxrss_mb"]
    gx = median([x.get("gx_warmup_s", 0) for x in [big, *r["small"]["empty"]]])
    lines = [
        "# chitieu benchmarks",
        "",
        f"Written by `make bench` (`bench/run_all.py`) on {dt.date.today().isoformat()}; the whole bench took "
        f"{r['elapsed'] / 60:.1f} min. Every figure is measured in the same run as its baseline and compared as a "
        "ratio, so that a slower or busier machine moves both. Figures 1–3 are given for the whole `chitieu run` "
        "flow as shipped and, in brackets, without its Great Expectations Data Docs step (a page per submission "
        "that failed a check; the suite pages and index on a warehouse's first run).",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {m['cpu']} |",
        f"| cores | {m['cores']} |",
        f"| RAM | {m['ram']} |",
        f"| PostgreSQL | {m.get('postgres', '?')} (embedded, pgserver, default settings) |",
        f"| Python | {m['python']} |",
        f"| OS | {m['os']} |",
        f"| load average at start (other work on the machine) | {m['load']} |",
        "",
        "## Results",
        "",
        f"National scale: {meta['communes']:,} communes in the catalog, {meta['rows']:,} disbursement rows in "
        f"{meta['files']:,} CSV files ({meta['mib']:.0f} MiB, one file per commune, ~300 projects each).",
        "",
        "| # | measure | result | baseline (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
        f"| 1 | full ingest of 1 M rows in {meta['files']:,} files | {big['seconds']:.2f} s "
        f"({_without_docs(big):.2f} s without Data Docs) | raw `COPY` of the same rows into a plain table: "
        f"{floor:.2f} s | {run_ratio:.1f}× ({run_ratio_nd:.1f}×) | ≤ 3× (stretch 2×) | "
        f"{_ok(run_ratio <= TARGETS['run_vs_copy'])} ({'yes' if run_ratio_nd <= 3 else 'no'}) |",
        f"| 2 | {r['small']['n']:,} one-row dossier files | {per_s:,.0f} files/s ({per_s_nd:,.0f} files/s "
        f"without Data Docs) | empty pass: {empty_s:.2f} s | {files['seconds']:.2f} s per pass "
        f"({_without_docs(files):.2f} s) | ≥ 500 files/s | {_ok(per_s >= TARGETS['files_per_s'])} "
        f"({'yes' if per_s_nd >= 500 else 'no'}) |",
        _ratio_row(f"3 | one-unit correction ({meta['unit_rows']} rows of {meta['unit']}) on the 1 M-row warehouse, "
                   "inbox holding every earlier file", r["corrections"], meta),
        _ratio_row("3b | the same, the inbox holding only the new file (the warehouse's share alone)",
                   r["corrections_alone"], meta),
        f"| 4 | fixed overhead: `chitieu run` on an empty inbox, Prefect server configured | {server_s:.2f} s | "
        f"no PREFECT_API_URL (chitieu's local server): {ephemeral_s:.2f} s | {server_s / ephemeral_s:.2f} | ≤ 3 s | "
        f"{_ok(server_s <= TARGETS['overhead_s'])} |",
        f"| 5 | peak RSS of the 1 M-row run | {rss:,.0f} MB | the same process before the run (imports, "
        f"GX context): {big.get('peak_after_mb', {}).get('discover_files', 0):,.0f} MB | "
        f"{rss / max(big.get('peak_after_mb', {}).get('discover_files', 1), 1):.1f}× | ≤ 1 GB (1024 MB) | "
        f"{_ok(rss <= TARGETS['rss_mb'])} |",
        _single_row(r),
        _next_month_row(r),
        "",
        "### How each figure is taken",
        "",
        "- **1**: `flows.ingest.ingest()` in a fresh process, on a fresh warehouse, reporting to the Prefect "
        "server; the process's imports (Python, Prefect, chitieu, pandas) and its Great Expectations context "
        f"(first use: {gx:.1f} s) are done before the clock starts — fixed costs, see figure 4. The floor is a "
        "`COPY ... FROM STDIN (FORMAT csv)` of the same rows, already in memory, into a table without index or "
        f"key in the same database (median of {len(r['floor'])}: {_seconds(r['floor'])} s). The whole measure is "
        f"repeated on {len(r.get('national_runs', [1]))} fresh warehouses and the median run reported (ratios: "
        + ", ".join(f"{x['run']['seconds']:.2f} s / {median(x['floor']):.2f} s = "
                    f"{x['run']['seconds'] / median(x['floor']):.1f}×" for x in r.get("national_runs", []))
        + ").",
        "- **2**: the same kind of process on a fresh warehouse: one pass over the one-row files, and passes over "
        f"an empty inbox ({_seconds([x['seconds'] for x in r['small']['empty']])} s); files/s = files / (pass − "
        "empty pass).",
        "- **3**: one new file for one commune, a correction of its October figures that supersedes its first "
        "version, on the national warehouse and on a warehouse with the same catalog holding only that commune's "
        f"first file. Repeated {len(r['corrections'])} times with different bytes, medians compared "
        f"(national {_seconds([p[0]['seconds'] for p in r['corrections']])} s; near-empty "
        f"{_seconds([p[1]['seconds'] for p in r['corrections']])} s). In 3 the inbox still holds every file seen "
        "before, as in production, so discovery hashes 3,321 files on the national side; 3b isolates the "
        f"warehouse (national {_seconds([p[0]['seconds'] for p in r['corrections_alone']])} s; near-empty "
        f"{_seconds([p[1]['seconds'] for p in r['corrections_alone']])} s).",
        "- **4**: `chitieu run --inbox <empty>` as a user types it, process start to exit (median of "
        f"{len(r['overhead']['server'])}: {_seconds(r['overhead']['server'])} s), after one warm-up run. The "
        "baseline is the same command without `PREFECT_API_URL`: chitieu starts its own local Prefect server "
        "for the warehouse on first use and every later command reuses it (`chitieu prefect-server`; "
        f"{_seconds(r['overhead']['ephemeral'])} s).",
        "- **5**: `ru_maxrss` of the process of figure 1 (Python, Prefect, Great Expectations and pandas "
        "included).",
        "- **6**: one unit's file of 100,000 disbursement rows (Vietnamese headers, `;`) on a fresh warehouse, "
        "the whole pass as in 1 (discover, parse, validate, load, derive, publish), vs a raw COPY of the same rows "
        "into a plain table of the same database (median of "
        f"{len(r.get('single', {}).get('floor', []))}: {_seconds(r.get('single', {}).get('floor', []))} s).",
        "- **8**: after 3, on the same national warehouse: a November file for every commune (the same projects, "
        "further disbursed) lands beside its October file, and one pass takes them all, as units report month "
        "after month. Each unit's projects then have rows to replace in `core.project_status`, and the checks "
        "read each project's previous figure. Compared with the first month's pass (figure 1's median run, the same "
        "rows on an empty warehouse).",
        "",
        "### Where the time of figure 1 goes",
        "",
        "Seconds per step, summed over the run's parts: the feed goes in parts of whole units, and a part's "
        "archive pack, its load and its derive run beside the parsing and validation of the next part, so the "
        "steps add up to more than the run.",
        "",
        "| step | seconds | peak RSS after it (MB) |",
        "|---|---|---|",
    ]
    steps, peaks = big["steps"], big.get("peak_after_mb", {})
    for name, seconds in sorted(steps.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {name} | {seconds:.2f} | {peaks.get(name, 0):,.0f} |")
    cpu = big.get("cpu_s")
    if cpu:
        total, cores = sum(cpu.values()), int(m["cores"]) if m["cores"].isdigit() else 1
        lines += ["", f"CPU time during the run: the flow's Python process (and its archive packer) "
                  f"{cpu['python']:.2f} s, PostgreSQL {cpu['postgres']:.2f} s, the Prefect server "
                  f"{cpu.get('prefect_server', 0):.2f} s. On {cores} cores the run cannot take less than "
                  f"{total:.2f} / {cores} = {total / cores:.2f} s ({total / cores / floor:.1f}× the COPY floor) "
                  "however well its steps overlap."]
    if "next_month" in r:
        month = r["next_month"]
        lines += ["", "Figure 8 per step (seconds summed over parts, as above):", "",
                  "| step | next month | first month |", "|---|---|---|"]
        for name in sorted(month["steps"], key=lambda k: -month["steps"][k]):
            lines.append(f"| {name} | {month['steps'][name]:.2f} | {steps.get(name, 0):.2f} |")
    for title, (nat_run, near_run) in (("3", r["corrections"][0]), ("3b", r["corrections_alone"][0])):
        lines += ["", f"Correction {title} (first repeat), per step:", "", "| step | national | near-empty |",
                  "|---|---|---|"]
        for name in sorted(nat_run["steps"], key=lambda k: -nat_run["steps"][k]):
            lines.append(f"| {name} | {nat_run['steps'][name]:.3f} | {near_run['steps'].get(name, 0):.3f} |")
        lines.append(f"| total | {nat_run['seconds']:.3f} | {near_run['seconds']:.3f} |")
    notes = Path(__file__).resolve().parent / "findings.md"
    if notes.exists():
        lines += ["", notes.read_text(encoding="utf-8").rstrip()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
