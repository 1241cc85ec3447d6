"""The national pass as a user types it (issue 21, targets 1 and 2), against a floor that reads the files too.

Per repeat, on a fresh warehouse (`chitieu init`):
- the floor: read every file of the inbox from disk, drop its header line and `COPY` its rows (each file in its own
  separator) into a logged table of the same database, committed; timed from the first read to the commit;
- `chitieu run` on an empty inbox, as typed (process start to exit): the command's fixed cost;
- `chitieu run` on the national inbox, as typed; its share is its time minus the empty pass's;
- peak RSS: `ru_maxrss` of the command's process tree as `wait4` reports it to the parent that started it (the
  largest of the command and every child it waited for, e.g. the archive packer).

Usage: python bench/as_typed.py [--rows N] [--communes N] [--repeats N] [--server] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import CHITIEU, FLOOR_TABLE, REPO, Home, PrefectServer, base_env, machine, median, write_chunks  # noqa: E402
from bench.national import build_catalog, write_disbursement_inbox  # noqa: E402

AS_OF = "2026-11-20"
BEGIN, END = "<!-- as_typed: begin -->", "<!-- as_typed: end -->"
FINDINGS = Path(__file__).resolve().parent / "as_typed_findings.md"
TARGET_RATIO, GOAL_RATIO, TARGET_RSS_MB = 5.0, 3.0, 1024



def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def typed(home: Home, inbox: Path, *, server: PrefectServer | None, prefect_home: Path,
          extra_env: dict[str, str] | None = None) -> dict:
    """`chitieu run --inbox INBOX` in a child process: wall seconds start to exit, and its tree's peak RSS."""
    env = {**home.env, "PREFECT_HOME": str(prefect_home), **(extra_env or {})}
    if server is not None:
        env["PREFECT_API_URL"] = server.url
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:  # files: a full pipe would block it
        started = time.perf_counter()
        proc = subprocess.Popen([str(CHITIEU), "run", "--inbox", str(inbox), "--as-of", AS_OF], env=env,
                                stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        summary, errors = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"chitieu run failed ({proc.returncode}): {errors[-2000:]}")
    return {"seconds": round(seconds, 3), "maxrss_mb": round(usage.ru_maxrss / 1024, 1),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "summary": summary[-400:]}


def file_floor(home: Home, inbox: Path, repeats: int) -> list[float]:
    """Seconds to read the inbox's CSV files and COPY their rows into a logged table, committed."""
    import psycopg

    paths = sorted(inbox.glob("*/*/*.csv"))
    times = []
    with psycopg.connect(home.url()) as conn:
        conn.execute(FLOOR_TABLE)
        conn.commit()
        for _ in range(repeats):
            conn.execute("truncate public.bench_copy_floor")
            conn.commit()
            started = time.perf_counter()
            by_separator: dict[bytes, list[bytes]] = {}
            for path in paths:
                data = path.read_bytes()
                header_end = data.index(b"\n") + 1
                separator = b";" if b";" in data[:header_end] else b","
                by_separator.setdefault(separator, []).append(data[header_end:])
            with conn.cursor() as cur:
                for separator, parts in by_separator.items():
                    sql = f"copy public.bench_copy_floor from stdin with (format csv, delimiter '{separator.decode()}')"
                    with cur.copy(sql) as copy:
                        write_chunks(copy, b"".join(parts))
            conn.commit()
            times.append(time.perf_counter() - started)
        conn.execute("drop table public.bench_copy_floor")
        conn.commit()
    return times


def run(out: Path, *, rows: int, communes: int, repeats: int, use_server: bool = True, keep: bool = False) -> dict:
    """Generate the national inbox under `out` and measure; returns the results (also out/results.json)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    codes = build_catalog(REPO / "catalog", out / "catalog", communes)
    national = write_disbursement_inbox(out / "inbox_national", codes, rows)
    empty = out / "inbox_empty"
    empty.mkdir()
    _say(f"{national.rows:,} rows in {national.files:,} files ({national.bytes / 2**20:.0f} MiB)")
    env = base_env(out, out / "catalog")
    results: dict = {"rows": national.rows, "files": national.files, "mib": round(national.bytes / 2**20, 1),
                     "server": use_server, "runs": [], "machine": machine(), "date": time.strftime("%Y-%m-%d")}
    homes: list[Home] = []
    server = PrefectServer(out / "prefect_server", env) if use_server else None
    try:
        if server is not None:
            server.__enter__()
        for i in range(repeats):
            home = Home.create(out / f"home_{i}", env)
            homes.append(home)
            prefect_home = out / f"prefect_client_{i}"
            floor = file_floor(home, national.root, 2)
            empties = [typed(home, empty, server=server, prefect_home=prefect_home) for _ in range(2)]
            full = typed(home, national.root, server=server, prefect_home=prefect_home)
            floor += file_floor(home, national.root, 1)
            empties.append(typed(home, empty, server=server, prefect_home=prefect_home))
            share = full["seconds"] - median([e["seconds"] for e in empties])
            if not keep:
                home.stop()
            every = _every_submission_event(out / f"home_{i}_all", env, national.root, empty, server, homes)
            results["runs"].append({"floor": floor, "empty": empties, "full": full, "share": share,
                                    "ratio": share / median(floor), **every,
                                    "ratio_all": every["share_all"] / median(floor)})
            _say(f"#{i + 1}: run {full['seconds']:.2f} s (peak {full['maxrss_mb']:.0f} MB, CPU {full['cpu_s']} s), "
                 f"empty {', '.join(str(e['seconds']) for e in empties)} s, floor "
                 f"{', '.join(f'{t:.2f}' for t in floor)} s → {share / median(floor):.1f}×; with an event per "
                 f"loaded submission {every['share_all'] / median(floor):.1f}×")
    finally:
        if server is not None:
            server.__exit__(None, None, None)
        if not keep:
            for home in homes:
                home.stop()
    results["runs"].sort(key=lambda r: r["ratio"])
    results["median"] = results["runs"][len(results["runs"]) // 2]
    (out / "results.json").write_text(json.dumps(results, indent=1))
    return results


def _every_submission_event(path: Path, env: dict, national: Path, empty: Path, server: PrefectServer | None,
                            homes: list[Home]) -> dict:
    """The same pass on another fresh warehouse with CHITIEU_SUBMISSION_EVENTS=all (each loaded submission's Prefect
    event too: the default sends one per run and per submission that needs attention)."""
    home = Home.create(path, env)
    homes.append(home)
    every = {"CHITIEU_SUBMISSION_EVENTS": "all"}
    prefect_home = path.parent / f"prefect_client_{path.name}"
    empties = [typed(home, empty, server=server, prefect_home=prefect_home, extra_env=every) for _ in range(2)]
    full = typed(home, national, server=server, prefect_home=prefect_home, extra_env=every)
    home.stop()
    return {"full_all": full, "share_all": full["seconds"] - median([e["seconds"] for e in empties])}


def section(r: dict) -> str:
    """This bench's section of BENCHMARKS.md."""
    m = r["machine"]
    lines = [BEGIN, "## The national pass as a user types it (`bench/as_typed.py`)", "",
             f"Measured on {r['date']} ({m['cores']} cores, {m['cpu']}, load average at start {m['load']}). "
             f"{r['rows']:,} disbursement rows in {r['files']:,} CSV files ({r['mib']:.0f} MiB, one per commune), a "
             "fresh warehouse per repeat (`chitieu init`), the command started by a parent that waits for it.", "",
             render(r).rstrip("\n"), "",
             "- **The command**: `chitieu run --inbox <national inbox>` in its own process, clock from the parent's "
             "`Popen` to `wait4` returning: Python's start, imports, the flow, its summary printed. Its fixed cost is "
             "the same command on an empty inbox on the same warehouse (before and after the national pass, "
             "median), subtracted.",
             "- **The floor**: in the same database, a logged table without index or key; each of the inbox's files "
             "read from disk, its header line dropped, its rows `COPY`ed in its own separator (one `COPY` per "
             "separator), committed; timed from the first read to the commit (median of 3: two before the pass, "
             "one after).",
             "- **Peak RSS**: `ru_maxrss` that `wait4` reports for the command: the largest resident set of the "
             "command's process and of every child it waited for (the archive packer)."]
    if FINDINGS.exists():
        lines += ["", FINDINGS.read_text(encoding="utf-8").rstrip()]
    return "\n".join(lines + [END]) + "\n"


def render(r: dict) -> str:
    """The BENCHMARKS.md rows of figures 1' and 5' (as typed)."""
    m = r["median"]
    floor, empty = median(m["floor"]), median([e["seconds"] for e in m["empty"]])
    peak = max(x["full"]["maxrss_mb"] for x in r["runs"])
    ratios = ", ".join(f"{x['share']:.2f} / {median(x['floor']):.2f} = {x['ratio']:.1f}×" for x in r["runs"])
    where = "PREFECT_API_URL set" if r["server"] else "no Prefect configured: chitieu's local server"
    return "\n".join(line for line in [
        "| measure | result | baseline (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|",
        f"| `chitieu run` on the national inbox as typed ({where}), minus the same command on an empty inbox | "
        f"{m['full']['seconds']:.2f} − {empty:.2f} = {m['share']:.2f} s | read the {r['files']:,} files and `COPY` "
        f"their rows into a logged table, committed: {floor:.2f} s | {m['ratio']:.1f}× | ≤ {TARGET_RATIO:.0f}× "
        f"(goal {GOAL_RATIO:.0f}×) | {'yes' if m['ratio'] <= TARGET_RATIO else '**no**'} |",
        f"| the same with `CHITIEU_SUBMISSION_EVENTS=all` (a Prefect event for each of the {r['files']:,} loaded "
        f"submissions, not only the run's) | {m['share_all']:.2f} s | the same floor | {m['ratio_all']:.1f}× | — | — |"
        if "share_all" in m else None,
        f"| peak RSS of any one process of that command (`ru_maxrss` from `wait4`), largest of {len(r['runs'])} "
        f"runs | {peak:,.0f} MB | — | — | ≤ {TARGET_RSS_MB} MB | {'yes' if peak <= TARGET_RSS_MB else '**no**'} |",
        "",
        f"Repeats on fresh warehouses (share / floor): {ratios}.",
    ] if line is not None) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--communes", type=int, default=3_321)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--server", action="store_true",
                        help="PREFECT_API_URL set to a Prefect server of the bench's (default: none configured, as "
                             "typed on a fresh machine: chitieu's own local server, started by `chitieu init`)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "as_typed")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="do not write BENCHMARKS.md")
    parser.add_argument("--report-only", action="store_true", help="rewrite the section from OUT/results.json")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    if args.report_only:
        results = json.loads((out / "results.json").read_text())
    else:
        results = run(out, rows=args.rows, communes=args.communes, repeats=args.repeats, use_server=args.server,
                      keep=args.keep)
    print(render(results))
    if not args.no_write:
        from bench.report_national import write_section

        write_section(REPO / "BENCHMARKS.md", section(results), BEGIN, END)
    return results


if __name__ == "__main__":
    main()
