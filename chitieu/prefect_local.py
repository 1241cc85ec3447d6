"""The local Prefect server of `chitieu` commands run without a Prefect API of the user's own.

Without PREFECT_API_URL Prefect would start a temporary server in every command (~7 s for a pass over an empty
inbox) and forget the run history with it. Instead the first command starts one `prefect server start` under
$CHITIEU_HOME/prefect (its own PREFECT_HOME and SQLite database, 127.0.0.1, a free port), detached from the
command, and records its address there; later commands check it answers and reuse it, so the run history stays
browsable in its UI. A lock keeps two commands from starting two. `chitieu prefect-server stop` stops it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import typer

from chitieu.errors import ChitieuError

__all__ = ["cli", "ensure_server", "server_dir", "status", "stop_server"]

STATE_FILE, LOCK_FILE, LOG_FILE = "server.json", "server.lock", "server.log"
STARTUP_SECONDS = 180  # the first start creates the database (~10 s on an idle machine, more on a loaded one)


def server_dir(home: Path) -> Path:
    """Where the local server keeps its PREFECT_HOME, database, address and log: $CHITIEU_HOME/prefect."""
    return home / "prefect"


def _healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):  # a server this process started and that has exited: reap it
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_our_server(pid: int, folder: Path) -> bool:
    """The process `pid` is a `prefect server` started for this folder (not a stranger that reused the pid)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return _alive(pid)  # no /proc: trust the pid
    return f"PREFECT_HOME={folder}".encode() in environ


def _read_state(folder: Path) -> dict | None:
    try:
        return json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def status(home: Path) -> dict | None:
    """The running local server's {pid, port, api_url, ui_url}, or None when none answers."""
    state = _read_state(server_dir(home))
    if state and _alive(state["pid"]) and _healthy(state["api_url"]):
        return state
    return None


@contextlib.contextmanager
def _locked(folder: Path, timeout: float = STARTUP_SECONDS + 30) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / LOCK_FILE).open("a") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ChitieuError(f"another command has held {folder / LOCK_FILE} for {timeout:.0f} s") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env(folder: Path) -> dict[str, str]:
    """The server's environment: its own PREFECT_HOME; no Prefect API or database setting of the user's."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE", "PREFECT_PROFILES_PATH")
           and not k.startswith(("PREFECT_API_DATABASE", "PREFECT_SERVER_DATABASE"))}
    env.update(PREFECT_HOME=str(folder), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    return env


def _start(folder: Path) -> dict:
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    with (folder / LOG_FILE).open("ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                 "--port", str(port)], cwd=folder, env=_server_env(folder),
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # detached: outlives the command, no terminal signals
    state = {"pid": proc.pid, "port": port, "api_url": api_url, "ui_url": f"http://127.0.0.1:{port}"}
    deadline = time.monotonic() + STARTUP_SECONDS
    while not _healthy(api_url, timeout=1.0):
        if proc.poll() is not None or time.monotonic() > deadline:
            _terminate(proc.pid)
            raise ChitieuError(f"the local Prefect server did not start (see {folder / LOG_FILE}); "
                               "or set PREFECT_API_URL to a Prefect server of your own")
        time.sleep(0.2)
    (folder / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")
    return state


def _terminate(pid: int, timeout: float = 20) -> bool:
    """Stop a server's process group (the server and what it started), politely first; the process alone when it
    leads no group. Whether it ended."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:  # not a group's leader (or gone): the process itself
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        except PermissionError:
            return not _alive(pid)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _alive(pid):
            return True
    return False


def ensure_server(home: Path) -> dict:
    """The local server's state, started first if none answers (one start at a time, under a lock)."""
    folder = server_dir(home)
    state = status(home)  # the common case, without the lock: a running server
    if state:
        return state
    with _locked(folder):
        state = _read_state(folder)
        if state and _alive(state["pid"]) and _healthy(state["api_url"]):
            return state  # started by another command while this one waited for the lock
        if state and _alive(state["pid"]) and _is_our_server(state["pid"], folder):
            _terminate(state["pid"])  # alive but not answering: hung
        (folder / STATE_FILE).unlink(missing_ok=True)
        return _start(folder)


def stop_server(home: Path) -> bool:
    """Stop the local server; False when none was running. The server's address is forgotten once it has ended,
    not before: a server that did not stop is named, and a later stop tries again."""
    folder = server_dir(home)
    with _locked(folder):
        state = _read_state(folder)
        if not state or not _alive(state["pid"]) or not _is_our_server(state["pid"], folder):
            (folder / STATE_FILE).unlink(missing_ok=True)
            return False
        if not _terminate(state["pid"]):
            raise ChitieuError(f"the local Prefect server (process {state['pid']}) did not stop")
        (folder / STATE_FILE).unlink(missing_ok=True)
        return True


# --- `chitieu prefect-server ...` --------------------------------------------------------------------------

cli = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="The local Prefect server that chitieu starts when PREFECT_API_URL is not set.")


def _home() -> Path:
    from chitieu.config import load_settings

    return load_settings().home


def _fail(message: str) -> None:
    typer.echo(f"chitieu: {message}", err=True)
    raise typer.Exit(1)


@cli.command("start")
def start_command() -> None:
    """Start the local Prefect server (if it is not running) and print its UI address."""
    try:
        state = ensure_server(_home())
    except ChitieuError as exc:
        _fail(str(exc))
    typer.echo(f"prefect UI: {state['ui_url']}")


@cli.command("status")
def status_command() -> None:
    """Print the local Prefect server's UI address, or say it is not running (exit status 1)."""
    state = status(_home())
    if not state:
        _fail(f"no local Prefect server running (under {server_dir(_home())})")
    typer.echo(f"prefect UI: {state['ui_url']} (pid {state['pid']})")


@cli.command("stop")
def stop_command() -> None:
    """Stop the local Prefect server (the next command starts it again)."""
    try:
        stopped = stop_server(_home())
    except ChitieuError as exc:
        _fail(str(exc))
    typer.echo("local Prefect server stopped" if stopped else "no local Prefect server was running")
