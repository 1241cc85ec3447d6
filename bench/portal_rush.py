"""The monthly rush before the 5th on the portal: N clients upload one-month dossier files for N units at once.

Measures uploads per second and the p50/p95 latency of an upload and of a dry run over HTTP (`chitieu serve` in
its own process, a Prefect server, an embedded PostgreSQL), each beside the same kind of file processed by a direct
call of the pipeline in this process (flows.upload.ingest_upload; check_upload for the dry run).

    python -m bench.portal_rush [--clients 8] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from bench.harness import CHITIEU, REPO, Home, PrefectServer, _free_port, base_env

AS_OF = "2026-11-20"
HEADER = ["unit_code", "period", "received_total", "received_online", "resolved_total", "resolved_on_time"]


def _dossier(unit: str, period: str, seed: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    total = 100 + seed
    writer.writerow([unit, period, total, total - 7, total - 3, total - 5])
    return buffer.getvalue().encode()


def _communes(catalog: Path, count: int) -> list[str]:
    with (catalog / "units.csv").open(encoding="utf-8") as fh:
        units = [r["unit_code"] for r in csv.DictReader(fh)
                 if r["level"] == "commune" and "dossier" in (r.get("monthly_feeds") or "").split()]
    if len(units) < count:
        raise SystemExit(f"the catalog has {len(units)} communes sending dossier reports; ask for fewer clients")
    return units[:count]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(values: list[float]) -> dict:
    return {"n": len(values), "p50_s": round(statistics.median(values), 3),
            "p95_s": round(_percentile(values, 0.95), 3)}


def _rush(url: str, tokens: dict[str, str], period: str, *, dry_run: bool) -> tuple[list[float], float, list[str]]:
    """Every unit uploads at the same moment; latencies, wall time and statuses."""
    import httpx

    latencies, statuses, start = [], [], threading.Barrier(len(tokens))

    def client(i: int, unit: str) -> None:
        body = _dossier(unit, period, i)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens[unit]}"}, timeout=600) as http:
            start.wait()
            began = time.perf_counter()
            answer = http.post("/api/v1/submissions", params={"feed": "dossier", "dry_run": str(dry_run).lower()},
                               files={"file": (f"{unit}-{period}.csv", body)})
            latencies.append(time.perf_counter() - began)
            statuses.append(answer.json().get("status", str(answer.status_code)))

    threads = [threading.Thread(target=client, args=(i, u)) for i, u in enumerate(tokens)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - began, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="portal-rush-"))
    catalog = REPO / "catalog"
    env = base_env(out, catalog)
    inbox = out / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    env["CHITIEU_INBOX"] = str(inbox)
    units = _communes(catalog, args.clients)
    with PrefectServer(out / "prefect", env) as server:
        home = Home.create(out / "home", {**env, "PREFECT_API_URL": server.url})
        env = home.env
        os.environ.update(env)  # this process's direct pipeline calls use the same warehouse, inbox and server
        from apps.portal.accounts import add_account, new_token
        from chitieu.config import load_settings
        from chitieu.warehouse import get_engine

        settings = load_settings()
        engine = get_engine(settings)
        tokens = {}
        for unit in units:
            add_account(engine, f"{unit.lower()}@bench.example", "unit", unit)
            tokens[unit] = new_token(engine, f"{unit.lower()}@bench.example")
        port = _free_port()
        log = (out / "serve.log").open("w")
        serve = subprocess.Popen([str(CHITIEU), "serve", "--port", str(port)], env=env, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            import httpx

            for _ in range(240):
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            # warm-up: the server's first upload imports Great Expectations
            _rush(url, {units[0]: tokens[units[0]]}, "2026-07", dry_run=False)
            uploads, upload_wall, upload_statuses = _rush(url, tokens, "2026-10", dry_run=False)
            dry, dry_wall, dry_statuses = _rush(url, tokens, "2026-09", dry_run=True)
        finally:
            os.killpg(serve.pid, signal.SIGTERM)  # the server's own process group, started above
            serve.wait(30)
            log.close()

        # --- the same files by a direct call of the pipeline, one after another, in this process ---------
        from apps.portal.intake import land_upload
        from flows.upload import check_upload, ingest_upload, landed_upload

        as_of = dt.date.fromisoformat(AS_OF)
        direct, direct_dry = [], []
        for i, unit in enumerate(units):
            body = _dossier(unit, "2026-08", i)
            rel = land_upload(settings.inbox, unit, "dossier", f"direct-{unit}.csv", body)
            began = time.perf_counter()
            ingest_upload(rel, as_of)
            direct.append(time.perf_counter() - began)
            body = _dossier(unit, "2026-06", i)
            landed = landed_upload(settings.inbox, f"{unit}/dossier/dry-{unit}.csv", body)
            began = time.perf_counter()
            check_upload(settings, landed, body, as_of)
            direct_dry.append(time.perf_counter() - began)
    home.stop()
    report = {
        "clients": len(units), "machine_cpus": os.cpu_count(),
        "upload_http": {**_summary(uploads), "wall_s": round(upload_wall, 3),
                        "uploads_per_s": round(len(uploads) / upload_wall, 2),
                        "statuses": sorted(set(upload_statuses))},
        "dry_run_http": {**_summary(dry), "wall_s": round(dry_wall, 3),
                         "dry_runs_per_s": round(len(dry) / dry_wall, 2), "statuses": sorted(set(dry_statuses))},
        "upload_direct_flow": _summary(direct),
        "dry_run_direct_call": _summary(direct_dry),
        "out": str(out),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
