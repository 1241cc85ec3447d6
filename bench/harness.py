"""Plumbing for the benchmarks: environments, a Prefect server, embedded PostgreSQL homes, measured children."""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = Path(sys.executable)
CHITIEU = PYTHON.parent / "chitieu"
PREFECT = PYTHON.parent / "prefect"

__all__ = ["FLOOR_TABLE", "REPO", "Home", "PrefectServer", "base_env", "cli_seconds", "copy_floor", "machine",
           "median", "run_child"]

_DROP = ("CHITIEU_WAREHOUSE_URL", "CHITIEU_INBOX", "CHITIEU_SMTP_URL", "CHITIEU_ALERT_URLS", "PREFECT_API_URL",
         "PREFECT_PROFILE")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def base_env(out: Path, catalog: Path) -> dict[str, str]:
    """The process environment for every measured child: no mail, no analytics, the bench's catalog."""
    env = {k: v for k, v in os.environ.items() if k not in _DROP}
    env.update({"CHITIEU_CATALOG": str(catalog), "PREFECT_HOME": str(out / "prefect_client"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "PREFECT_LOGGING_LEVEL": "WARNING",
                "PYTHONPATH": str(REPO)})
    return env


# --- Prefect server ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrefectServer:
    """`prefect server start` in the background (its own PREFECT_HOME and SQLite), stopped by its process id."""

    def __init__(self, home: Path, env: dict[str, str]):
        self.home, self.port = home, _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        home.mkdir(parents=True, exist_ok=True)
        self._env = {**env, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        self._log = (home / "server.log").open("w")
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> PrefectServer:
        self._proc = subprocess.Popen([str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port",
                                       str(self.port)], env=self._env, stdout=self._log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"prefect server exited; see {self.home / 'server.log'}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("prefect server did not become healthy in 120 s")

    def __exit__(self, *exc) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)  # the server's own process group (started above)
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        self._log.close()


# --- chitieu homes (embedded PostgreSQL each) --------------------------------------------------


@dataclass
class Home:
    """A CHITIEU_HOME with its own embedded PostgreSQL."""

    path: Path
    env: dict[str, str]

    @classmethod
    def create(cls, path: Path, env: dict[str, str]) -> Home:
        path.mkdir(parents=True, exist_ok=True)
        home = cls(path, {**env, "CHITIEU_HOME": str(path)})
        subprocess.run([str(CHITIEU), "init"], env=home.env, check=True, stdout=subprocess.DEVNULL)
        return home

    def url(self) -> str:
        """psycopg URL of the pipeline's role in this home's warehouse."""
        from chitieu.config import load_settings
        from chitieu.warehouse import warehouse_url

        return warehouse_url(load_settings(self.env)).set(drivername="postgresql").render_as_string(False)

    def stop(self) -> None:
        """Stop this home's local Prefect server (if a command started one) and its embedded PostgreSQL."""
        env = {k: v for k, v in self.env.items() if k != "PREFECT_API_URL"}
        subprocess.run([str(CHITIEU), "prefect-server", "stop"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        stop_postgres(self.path / "pgdata")

    def postgres_version(self) -> str:
        import psycopg

        with psycopg.connect(self.url()) as conn:
            return conn.execute("show server_version").fetchone()[0]


def stop_postgres(pgdata: Path) -> None:
    from pgserver._commands import pg_ctl

    if (pgdata / "postmaster.pid").exists():
        user = "pgserver" if os.geteuid() == 0 else None  # pgserver never runs PostgreSQL as root
        pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)


def run_child(home: Home, inbox: Path, as_of: str, *, warm_gx: bool = True, server: PrefectServer | None,
              profile: Path | None = None, skip: tuple[str, ...] = ()) -> dict:
    """One measured in-process ingest pass in a fresh Python process; returns the child's JSON report."""
    env = dict(home.env)
    if server is not None:
        env["PREFECT_API_URL"] = server.url
    args = [str(PYTHON), str(REPO / "bench" / "child.py"), "--inbox", str(inbox), "--as-of", as_of]
    if warm_gx:
        args.append("--warm-gx")
    if profile is not None:
        args += ["--profile", str(profile)]
    for step in skip:
        args += ["--skip", step]
    proc = subprocess.run(args, env=env, capture_output=True, text=True)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"child failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(line[len("BENCH "):])


def cli_seconds(home: Home, inbox: Path, as_of: str, *, server: PrefectServer | None, prefect_home: Path) -> float:
    """Wall time of one `chitieu run` process, start to exit."""
    env = {**home.env, "PREFECT_HOME": str(prefect_home)}
    if server is not None:
        env["PREFECT_API_URL"] = server.url
    started = time.perf_counter()
    proc = subprocess.run([str(CHITIEU), "run", "--inbox", str(inbox), "--as-of", as_of], env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"chitieu run failed: {proc.stderr[-2000:]}")
    return seconds


# --- the floor -----------------------------------------------------------------------------------

FLOOR_TABLE = """
create table if not exists public.bench_copy_floor (
    project_code text, project_name text, unit_code text, project_group text,
    capital_plan_vnd bigint, disbursed_vnd bigint, as_of_date date)
"""


def write_chunks(copy, data: bytes, chunk: int = 1 << 20) -> None:
    """Feed `data` to a psycopg COPY in 1 MiB pieces (as a client streaming a file would)."""
    view = memoryview(data)
    for start in range(0, len(view), chunk):
        copy.write(view[start:start + chunk])


def copy_floor(home: Home, csv_path: Path, repeats: int = 3) -> list[float]:
    """Seconds of a raw COPY of the same rows into a plain table of the same database (no index, no key)."""
    import psycopg

    data = csv_path.read_bytes()
    times = []
    with psycopg.connect(home.url(), autocommit=True) as conn:
        conn.execute(FLOOR_TABLE)
        for _ in range(repeats):
            conn.execute("truncate public.bench_copy_floor")
            started = time.perf_counter()
            with conn.cursor() as cur, cur.copy("copy public.bench_copy_floor from stdin with (format csv)") as copy:
                write_chunks(copy, data)
            times.append(time.perf_counter() - started)
        conn.execute("drop table public.bench_copy_floor")
    return times


# --- the machine ---------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        kb = int(next(ln for ln in Path("/proc/meminfo").read_text().splitlines()
                      if ln.startswith("MemTotal")).split()[1])
        ram = f"{kb / 2**20:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return {"cpu": cpu, "cores": str(os.cpu_count()), "ram": ram, "os": platform.platform(),
            "python": platform.python_version(), "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}
