"""chitieu benchmarks at national scale (`make bench`): five figures, each against a baseline of the same run.

1. 1 M disbursement rows in 3,321 files (one per commune): a full ingest pass (discover, parse, validate, load,
   derive, alert, Data Docs, publish) vs a raw PostgreSQL COPY of the same rows into a plain table of the same
   database (the floor).
2. 3,321 one-row dossier files: files per second beyond the fixed overhead (a pass over an empty inbox).
3. A one-unit correction (one new file of one commune) on the 1 M-row warehouse vs the same correction on a
   near-empty warehouse (the same catalog, only that commune's data).
4. The fixed overhead of `chitieu run` on an empty inbox, start to exit, with a Prefect server configured
   (PREFECT_API_URL) and without one (Prefect's ephemeral server).
5. Peak RSS of the process that ran (1).

Everything lives under bench/out/ (git-ignored): the generated catalog and inboxes, one CHITIEU_HOME (embedded
PostgreSQL) per warehouse, a Prefect server's home. Prints a table and writes BENCHMARKS.md at the repo root.
Usage: python bench/run_all.py [--rows N] [--communes N] [--repeats N] [--no-write] [--keep] [--profile]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the cheap measurements (median kept)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    parser.add_argument("--no-write", action="store_true", help="do not write BENCHMARKS.md")
    parser.add_argument("--keep", action="store_true", help="leave the PostgreSQL servers running")
    parser.add_argument("--profile", action="store_true", help="write pyinstrument profiles of the children")
    args = parser.parse_args()
    out = args.out.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    started = time.perf_counter()

    # --- inputs ------------------------------------------------------------------------------
    _say(f"generating a {args.communes}-commune catalog and inboxes under {out}")
    communes = build_catalog(REPO / "catalog", out / "catalog", args.communes)
    national = write_disbursement_inbox(out / "inbox_national", communes, args.rows, copy_csv=out / "floor.csv")
    dossier = write_dossier_inbox(out / "inbox_dossier", communes)
    empty = out / "inbox_empty"
    empty.mkdir()
    unit = communes[-1]
    original = out / "inbox_national" / unit / "disbursement" / "giai_ngan_2026_10.csv"
    unit_rows = sum(1 for _ in original.open(encoding="utf-8")) - 1
    near_empty_inbox = out / "inbox_near_empty"
    _copy_into(original, near_empty_inbox, unit)
    corrections = [write_correction(out / "corrections", unit, unit_rows, v) for v in range(1, args.repeats + 1)]
    _say(f"  {national.rows:,} disbursement rows in {national.files:,} files ({national.bytes / 2**20:.0f} MiB); "
         f"{dossier.files:,} dossier files; correction: {unit} ({unit_rows} rows)")

    env = base_env(out, out / "catalog")
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
            homes += [national_home, near_empty_home, small_home]
            results["machine"]["postgres"] = national_home.postgres_version()

            # --- (1) 1 M rows vs COPY, (5) peak RSS ----------------------------------------------
            _say("(1) raw COPY floor")
            floor = copy_floor(national_home, out / "floor.csv", args.repeats)
            _say(f"    COPY {', '.join(f'{t:.2f}' for t in floor)} s")
            _say("(1) full ingest of the national inbox")
            big = run_child(national_home, national.root, AS_OF, server=server,
                            profile=profiles / "national.txt" if profiles else None)
            _say(f"    {big['seconds']:.2f} s, {big['counts']}, peak RSS {big['maxrss_mb']:.0f} MB")
            floor += copy_floor(national_home, out / "floor.csv", 1)
            results["national"], results["floor"] = big, floor

            # --- (3) one-unit correction on 1 M rows vs near-empty ------------------------------
            _say("(3) one-unit corrections: national vs near-empty warehouse")
            run_child(near_empty_home, near_empty_inbox, AS_OF, server=server)  # the unit's original file
            pairs = []
            for i, correction in enumerate(corrections, start=1):
                _copy_into(correction, national.root, unit)
                on_national = run_child(national_home, national.root, AS_OF, server=server, profile=(
                    profiles / f"correction_national_{i}.txt" if profiles else None))
                _copy_into(correction, near_empty_inbox, unit)
                on_near_empty = run_child(near_empty_home, near_empty_inbox, AS_OF, server=server, profile=(
                    profiles / f"correction_near_empty_{i}.txt" if profiles else None))
                pairs.append((on_national, on_near_empty))
                _say(f"    #{i}: {on_national['seconds']:.2f} s vs {on_near_empty['seconds']:.2f} s")
            results["corrections"] = pairs

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
    finally:
        if not args.keep:
            for home in homes:
                home.stop()
    results["elapsed"] = time.perf_counter() - started
    results["meta"] = {"rows": national.rows, "files": national.files, "mib": national.bytes / 2**20,
                       "unit": unit, "unit_rows": unit_rows, "communes": len(communes)}
    table = render(results)
    print()
    print(table)
    if not args.no_write:
        (REPO / "BENCHMARKS.md").write_text(table, encoding="utf-8")
        _say(f"wrote {REPO / 'BENCHMARKS.md'}")


# --- the report ---------------------------------------------------------------------------------


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _ok(met: bool) -> str:
    return "yes" if met else "**no**"


def render(r: dict) -> str:
    m, meta = r["machine"], r["meta"]
    big, floor = r["national"], median(r["floor"])
    run_ratio = big["seconds"] / floor
    nat = [p[0]["seconds"] for p in r["corrections"]]
    near = [p[1]["seconds"] for p in r["corrections"]]
    corr_ratio = median(nat) / median(near)
    server_s, ephemeral_s = median(r["overhead"]["server"]), median(r["overhead"]["ephemeral"])
    empty_s = median([x["seconds"] for x in r["small"]["empty"]])
    files_s = r["small"]["files"]["seconds"]
    per_s = r["small"]["n"] / max(files_s - empty_s, 1e-9)
    rss = big["maxrss_mb"]
    gx = median([x.get("gx_warmup_s", 0) for x in [big, *r["small"]["empty"]]])
    lines = [
        "# chitieu benchmarks",
        "",
        f"Written by `make bench` (`bench/run_all.py`) on {dt.date.today().isoformat()}; the whole bench took "
        f"{r['elapsed'] / 60:.1f} min. Every figure is measured in the same run as its baseline, and compared as a "
        "ratio, so that a slower or busier machine moves both.",
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
        f"| load average at start | {m['load']} |",
        "",
        "## Results",
        "",
        f"National scale: {meta['communes']:,} communes in the catalog, {meta['rows']:,} disbursement rows in "
        f"{meta['files']:,} CSV files ({meta['mib']:.0f} MiB, one file per commune).",
        "",
        "| # | measure | result | baseline (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
        f"| 1 | full ingest of 1 M rows in {meta['files']:,} files | {big['seconds']:.2f} s | raw `COPY` of the same "
        f"rows into a plain table: {floor:.2f} s | {run_ratio:.2f}× | ≤ 3× (stretch 2×) | "
        f"{_ok(run_ratio <= TARGETS['run_vs_copy'])} |",
        f"| 2 | {r['small']['n']:,} one-row dossier files | {per_s:,.0f} files/s ({files_s:.2f} s) | empty pass: "
        f"{empty_s:.2f} s | {files_s / empty_s:.2f}× | ≥ 500 files/s | {_ok(per_s >= TARGETS['files_per_s'])} |",
        f"| 3 | one-unit correction ({meta['rows_unit'] if 'rows_unit' in meta else meta['unit_rows']} rows of "
        f"{meta['unit']}) on the 1 M-row warehouse | {median(nat):.2f} s | same correction, near-empty warehouse: "
        f"{median(near):.2f} s | {corr_ratio:.2f} | ≤ 1.2 | {_ok(corr_ratio <= TARGETS['correction_ratio'])} |",
        f"| 4 | fixed overhead: `chitieu run` on an empty inbox, Prefect server configured | {server_s:.2f} s | "
        f"without a server (ephemeral Prefect): {ephemeral_s:.2f} s | {server_s / ephemeral_s:.2f} | ≤ 3 s | "
        f"{_ok(server_s <= TARGETS['overhead_s'])} |",
        f"| 5 | peak RSS of the 1 M-row run | {rss:,.0f} MB | 1 M rows as CSV: {meta['mib']:.0f} MiB | "
        f"{rss / meta['mib']:.1f}× | ≤ 1 GB | {_ok(rss <= TARGETS['rss_mb'])} |",
        "",
        "### How each figure is taken",
        "",
        "- **1**: `flows.ingest.ingest()` in a fresh process whose imports (Python, Prefect, chitieu) and Great "
        f"Expectations context (first use: {gx:.1f} s) are done before the clock starts — those are fixed costs, "
        "figure 4. The clock covers the whole flow run as `chitieu run` does it, Prefect flow and task runs "
        "reported to the server included. The floor is a `COPY ... FROM STDIN (FORMAT csv)` of the same rows, "
        "already in memory, into a table without index or key, in the same database (median of "
        f"{len(r['floor'])}: {', '.join(f'{t:.2f}' for t in r['floor'])} s).",
        "- **2**: the same kind of process on a fresh warehouse: one pass over the 3,321 files, and passes over an "
        f"empty inbox ({_seconds([x['seconds'] for x in r['small']['empty']])} s); files/s = files / "
        "(pass − empty pass).",
        "- **3**: one new file for one commune (a correction of its October figures: supersedes its first version) "
        "on the national warehouse and on a warehouse with the same catalog holding only that commune's first "
        f"file; the inbox still holds every earlier file, as it does in production. Repeated {len(nat)} times "
        f"(national {', '.join(f'{t:.2f}' for t in nat)} s; near-empty {', '.join(f'{t:.2f}' for t in near)} s); "
        "medians compared.",
        "- **4**: `chitieu run --inbox <empty>` as a user types it, process start to exit (median of "
        f"{len(r['overhead']['server'])}: {', '.join(f'{t:.2f}' for t in r['overhead']['server'])} s). "
        "The baseline is the same command without `PREFECT_API_URL`, when Prefect starts a temporary local "
        f"server for the process ({', '.join(f'{t:.2f}' for t in r['overhead']['ephemeral'])} s).",
        "- **5**: `ru_maxrss` of the process of figure 1 (Python, Prefect, Great Expectations and pandas "
        "included).",
        "",
        "### Where the time of figure 1 goes",
        "",
        "| step | seconds |",
        "|---|---|",
    ]
    steps = big["steps"]
    for name, seconds in sorted(steps.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {name} | {seconds:.2f} |")
    lines.append(f"| flow and task orchestration (Prefect), bookkeeping | {big['seconds'] - sum(steps.values()):.2f} |")
    lines += ["", "Correction on the national warehouse (first repeat), per step:", "",
              "| step | national | near-empty |", "|---|---|---|"]
    first_nat, first_near = r["corrections"][0]
    for name in sorted(first_nat["steps"], key=lambda k: -first_nat["steps"][k]):
        lines.append(f"| {name} | {first_nat['steps'][name]:.3f} | {first_near['steps'].get(name, 0):.3f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
