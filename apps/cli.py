"""The `chitieu` command: thin fronts for the Prefect flows (CONTRACT.md section 5)."""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import logging
import os
import sys
from pathlib import Path

import typer

from chitieu.runtime import command_line_run, prefect_ui_url, quiet_environment

quiet_environment()

from chitieu import prefect_local  # noqa: E402
from chitieu.config import DEMO_AS_OF, DEMO_SEED  # noqa: E402
from chitieu.errors import ChitieuError  # noqa: E402
from chitieu.local_time import today  # noqa: E402


def _province_name() -> str:
    """The province named by the catalog's units.csv (its unit of level province), for the help text; read with the
    csv module alone so that `chitieu --help` stays instant (a malformed catalog is reported by the commands)."""
    import csv

    path = Path(os.environ.get("CHITIEU_CATALOG") or "./catalog") / "units.csv"
    try:
        with path.open(encoding="utf-8-sig", newline="") as rows:
            return next((r.get("name_vi") or r["unit_code"] for r in csv.DictReader(rows)
                         if (r.get("level") or "").strip() == "province"), "")
    except (OSError, KeyError, csv.Error, UnicodeDecodeError):
        return ""


class _OneLineErrors(typer.core.TyperGroup):
    """Usage errors (a bad option, a missing argument) as one line on stderr, like every other failure."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        if not standalone_mode:  # a caller that handles errors itself
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)  # typer.Exit's code, else the command's None
            sys.exit(code if isinstance(code, int) else 0)
        except typer.TyperException as exc:  # typer's usage errors: bad value, unknown option, missing option
            if type(exc).__name__ == "NoArgsIsHelpError":  # `chitieu` alone: the help
                exc.show()
                sys.exit(exc.exit_code)
            context = getattr(exc, "ctx", None)
            hint = f" (see {context.command_path} --help)" if context is not None else ""
            typer.echo(f"chitieu: {_printable(exc.format_message())}{hint}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("chitieu: aborted", err=True)
            sys.exit(1)


app = typer.Typer(cls=_OneLineErrors, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help=f"chitieu: target monitoring{' — ' + _province_name() if _province_name() else ''} "
                       "(ingest, validate, derive, report; the catalog is $CHITIEU_CATALOG).")


def _as_of(value: str | None) -> dt.date:
    if value is None:
        return today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint="--as-of") from None


def _fail(exc: BaseException) -> None:
    from chitieu.warehouse import stop_started_embedded

    stop_started_embedded()  # a failing command leaves no database server running that it started
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    typer.echo(f"chitieu: {_printable(message)}", err=True)
    raise typer.Exit(1)


def _guard(fn):
    """Run a command; chitieu's own errors, database outages and unexpected failures end with one line on stderr.

    Flow and task run logs (with their tracebacks) still go to the Prefect API, not to the terminal."""
    import sqlalchemy as sa

    run_loggers = [logging.getLogger(name) for name in ("prefect.flow_runs", "prefect.task_runs")]
    propagate = [logger.propagate for logger in run_loggers]
    for logger in run_loggers:
        logger.propagate = False
    try:
        with command_line_run():
            return fn()
    except ChitieuError as exc:
        _fail(exc)
    except sa.exc.OperationalError as exc:
        _fail(ChitieuError(f"warehouse unavailable: {str(exc.orig or exc).strip().splitlines()[0]}"))
    except sa.exc.SQLAlchemyError as exc:
        _fail(ChitieuError(f"warehouse error: {str(exc.orig or exc).strip().splitlines()[0]}"))
    except Exception as exc:  # a bug: one line here, the traceback is in the flow run's logs
        _fail(ChitieuError(f"unexpected {type(exc).__name__}: {exc} (see the Prefect flow run logs)"))
    finally:
        for logger, value in zip(run_loggers, propagate, strict=True):
            logger.propagate = value


def _printable(text: str) -> str:
    """Text safe for a terminal: control characters (escape sequences, line breaks) shown escaped, never sent."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _print_summary(summary) -> None:
    """The summary table; file names and cell values come from units, so no control character reaches the terminal."""
    from dataclasses import replace

    from chitieu.summary import print_summary

    outcomes = [replace(o, file_name=_printable(o.file_name),
                        failures=[replace(f, message=_printable(f.message)) for f in o.failures])
                for o in summary.outcomes]
    skipped = [replace(s, rel_path=_printable(s.rel_path), reason=_printable(s.reason)) for s in summary.skipped]
    print_summary(summary.with_changes(outcomes=outcomes, skipped=skipped))


@app.command()
def init() -> None:
    """Create or upgrade the warehouse schema and load the catalog."""
    from flows.init_warehouse import init_warehouse

    result = _guard(init_warehouse)
    applied = ", ".join(result["migrations"]) or "none (up to date)"
    changes = ", ".join(f"{k}: {v}" for k, v in result["catalog_changes"].items())
    typer.echo(f"migrations applied: {applied}\ncatalog rows changed: {changes}")


def _warm_suites(inbox: Path | None) -> None:
    """Start the suite worker (it imports Great Expectations, ~2 s of CPU) before this process imports Prefect and
    the flow (~1.5 s), when the pass will run its tasks here and may have files to validate."""
    from chitieu.config import load_settings, runs_tasks_here
    from chitieu.suites import start_worker_for

    if runs_tasks_here():
        start_worker_for(inbox.resolve() if inbox is not None else load_settings().inbox)


@app.command()
def run(inbox: Path = typer.Option(None, help="Landing zone (default $CHITIEU_INBOX or ./data/inbox)."),
        as_of: str = typer.Option(None, "--as-of", help="Evaluation date YYYY-MM-DD (default today).")) -> None:
    """One ingest pass: discover, parse, validate, load, derive, alert; prints a summary table."""
    day = _as_of(as_of)
    if inbox is not None and not inbox.is_dir():
        raise typer.BadParameter(f"{inbox} is not a folder", param_hint="--inbox")
    _warm_suites(inbox)
    from chitieu.suites import stop_idle_worker
    from flows.ingest import ingest

    try:
        summary = _guard(lambda: ingest(inbox=str(inbox) if inbox else None, as_of=day))
    finally:  # a pass that failed before its checks: the exit would wait for the worker's warm-up (~2 s)
        stop_idle_worker()
    _print_summary(summary)
    if summary.alerts:
        typer.echo("alerts: " + ", ".join(f"{k}: {v}" for k, v in summary.alerts.items()))
    if summary.data_docs:
        typer.echo(f"data docs: {summary.data_docs}")
    if prefect_ui_url():
        typer.echo(f"prefect UI: {prefect_ui_url()}")


@app.command()
def rerun(unit: str = typer.Option(..., "--unit", help="Unit code."),
          feed: str = typer.Option(..., "--feed", help="Feed name."),
          period: str = typer.Option(None, "--period", help="Only submissions carrying this period."),
          as_of: str = typer.Option(None, "--as-of", help="Evaluation date YYYY-MM-DD (default today).")) -> None:
    """Reprocess a unit's current files of a feed and re-derive what depends on them."""
    from chitieu.config import FEEDS
    from flows.rerun import rerun as rerun_flow

    if feed not in FEEDS:
        raise typer.BadParameter(f"{feed!r} is not one of {', '.join(FEEDS)}", param_hint="--feed")
    day = _as_of(as_of)
    summary = _guard(lambda: rerun_flow(unit=unit, feed=feed, period=period, as_of=day))
    _print_summary(summary)


def _os_user() -> str:
    import getpass

    return getpass.getuser()


@app.command()
def approve(unit: str = typer.Option(..., "--unit", help="Unit code."),
            feed: str = typer.Option(..., "--feed", help="Feed name."),
            period: str = typer.Option(..., "--period", help="YYYY-MM (indicator: also YYYY-Qn, YYYY).")) -> None:
    """Approve (lock) a unit's feed for a period: later files touching it are rejected (period_locked)."""
    from chitieu import approval

    lock = _guard(lambda: approval.approve_period(unit, feed, period, _os_user()))
    typer.echo(f"approved: {unit} {feed} {period} by {lock.approved_by} at {lock.approved_at.isoformat()}")


@app.command()
def unapprove(unit: str = typer.Option(..., "--unit", help="Unit code."),
              feed: str = typer.Option(..., "--feed", help="Feed name."),
              period: str = typer.Option(..., "--period", help="Period, as approved."),
              reason: str = typer.Option(..., "--reason", help="Why the period is reopened (kept).")) -> None:
    """Reopen an approved period, with its reason; files the lock refused may be sent again."""
    from chitieu import approval

    released = _guard(lambda: approval.reopen_period(unit, feed, period, _os_user(), reason))
    typer.echo(f"reopened: {unit} {feed} {period}; refused files released: {released}")


@app.command()
def demo(as_of: str = typer.Option(DEMO_AS_OF.isoformat(), "--as-of", help="Evaluation date of the demo."),
         seed: int = typer.Option(DEMO_SEED, help="Random seed (same seed, same feeds).")) -> None:
    """Generate realistic sample feeds for the catalog, run them, write the report."""
    from flows.demo import demo as demo_flow

    result = _guard(lambda: demo_flow(as_of=_as_of(as_of), seed=seed))
    for key, value in result.items():
        typer.echo(f"{key}: {value}")


@app.command()
def report(out: Path = typer.Option(None, "--out", help="Folder for report.html (default $CHITIEU_HOME/reports)."),
           ) -> None:
    """Write the HTML report of target attainment and data quality."""
    from flows.report import report as report_flow

    path = _guard(lambda: report_flow(out=str(out) if out else None))
    typer.echo(f"report: {path}")


@app.command()
def publish(out: Path = typer.Option(None, "--out", help="Folder of the package (default $CHITIEU_HOME/opendata)."),
            changed_only: bool = typer.Option(False, "--changed-only",
                                              help="List only the files whose bytes changed since the last "
                                                   "publication (the package is always written whole).")) -> None:
    """Write the open-data package: CSV and Parquet per resource, datapackage.json, dcat.jsonld."""
    from flows.publish_open_data import publish_open_data

    result = _guard(lambda: publish_open_data(out=str(out) if out else None))
    typer.echo(f"package: {result['folder']} (data as of {result['as_of']})")
    for note in result["notes"]:
        typer.echo(f"note: {note}")
    for f in result["files"]:
        if f["changed"] or not changed_only:
            rows = "" if f["rows"] is None else f" {f['rows']} rows"
            typer.echo(f"{'changed' if f['changed'] else 'unchanged'} {f['file']}{rows} sha256:{f['sha256']}")


@app.command()
def remind(as_of: str = typer.Option(None, "--as-of", help="Evaluation date YYYY-MM-DD (default today).")) -> None:
    """Remind units whose monthly feeds are past their due date (once per unit, feed and month)."""
    from flows.reminders import reminders

    day = _as_of(as_of)
    result = _guard(lambda: reminders(as_of=day))
    typer.echo(", ".join(f"{k}: {v}" for k, v in result.items()))


@app.command()
def warehouse(reader: bool = typer.Option(False, "--reader", help="URL of the read-only role chitieu_reader.")) -> None:
    """Print the warehouse URL for psql (with --reader, the BI tools' read-only URL)."""
    from chitieu.config import load_settings
    from chitieu.warehouse import get_engine, reader_url

    def _url() -> str:
        settings = load_settings()
        engine = get_engine(settings)
        url = reader_url(settings, engine) if reader else engine.url
        return url.set(drivername="postgresql").render_as_string(hide_password=False)

    typer.echo(_guard(_url))


@app.command()
def template(feed: str = typer.Option(..., "--feed", help="Feed: dossier, disbursement, tasks, admin_ops, indicator."),
             unit: str = typer.Option(None, "--unit", help="Unit code to pre-fill (a unit of the catalog)."),
             fmt: str = typer.Option("xlsx", "--format", help="xlsx or csv."),
             period: str = typer.Option(None, "--period", help="Period to pre-fill (default: the next one)."),
             out: Path = typer.Option(None, "--out", help="File to write (default <feed>[_<unit>].<format>).")) -> None:
    """Write the feed's official report form, which chitieu reads back as is."""
    from chitieu.catalog import read_catalog
    from chitieu.config import FEEDS, load_settings
    from chitieu.forms import FORM_FORMATS, render_form

    if feed not in FEEDS:
        raise typer.BadParameter(f"{feed!r} is not a feed (expected one of {', '.join(FEEDS)})", param_hint="--feed")
    if fmt not in FORM_FORMATS:
        raise typer.BadParameter(f"{fmt!r}: expected {' or '.join(FORM_FORMATS)}", param_hint="--format")
    try:
        data = render_form(read_catalog(load_settings().catalog_dir), feed, unit_code=unit, fmt=fmt, period=period)
    except ChitieuError as exc:
        _fail(exc)
    target = out or Path(f"{feed}{'_' + unit if unit else ''}.{fmt}")
    target.write_bytes(data)
    typer.echo(str(target))


app.add_typer(prefect_local.cli, name="prefect-server")


# --- the units' portal (CONTRACT.md section 8): thin fronts into apps.portal -------------------------------

users_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Portal accounts and API tokens.")
app.add_typer(users_app, name="users")


@app.command()
def serve(host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
          port: int = typer.Option(8080, "--port", help="Port to listen on."),
          secure_cookies: bool = typer.Option(False, "--secure-cookies",
                                              help="Mark cookies Secure (behind a TLS reverse proxy).")) -> None:
    """The units' portal and HTTP API (sign in, upload, hear back at once)."""
    from apps.portal import serve as serve_portal

    serve_portal(host, port, secure_cookies=secure_cookies)


@users_app.command("add")
def users_add(email: str = typer.Option(..., "--email", help="E-mail address (the sign-in name)."),
              role: str = typer.Option(..., "--role", help="unit, province or admin."),
              unit: str = typer.Option(None, "--unit", help="The unit (role unit only).")) -> None:
    """Create a portal account; prints its one-time password alone on the last line."""
    from apps.portal.accounts import add_account
    from chitieu.config import load_settings
    from chitieu.warehouse import get_engine

    password = _guard(lambda: add_account(get_engine(load_settings()), email, role, unit))
    typer.echo(f"account {email} ({role}{' ' + unit if unit else ''}) created; its password, shown once:")
    typer.echo(password)


@users_app.command("token")
def users_token(email: str = typer.Option(..., "--email", help="The account's e-mail address.")) -> None:
    """Print a new API token for the account alone on the last line (shown once, stored hashed)."""
    from apps.portal.accounts import new_token
    from chitieu.config import load_settings
    from chitieu.warehouse import get_engine

    token = _guard(lambda: new_token(get_engine(load_settings()), email))
    typer.echo(f"API token for {email}, shown once (send it as 'Authorization: Bearer <token>'):")
    typer.echo(token)


_exit_status: list = [0]  # the status the command ended with (SystemExit's code), for _end_without_teardown


def _end_without_teardown() -> None:
    """The last exit handler: end the process without the interpreter's teardown. The handlers registered after
    main's have run by then (Prefect's queues drained, pgserver's cleanup, multiprocessing's join of the suite worker
    and release of its semaphores: all imported later), as has every wait for a non-daemon thread; logging's was
    registered first (imported with this module), so it is called here. What is left is freeing each object one by
    one: ~0.65 s after a national pass, with nothing more to write."""
    code = _exit_status[0]
    status = 0 if code is None else code if isinstance(code, int) else 1  # a text code was printed already
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`chitieu ... | head`): nothing to write to
            stream.flush()
    os._exit(status)


def main() -> None:
    """The console script `chitieu` (pyproject.toml): the commands, ended by _end_without_teardown."""
    atexit.register(_end_without_teardown)  # before Prefect, pgserver or multiprocessing register theirs: runs last
    try:
        app()
    except SystemExit as exc:
        _exit_status[0] = exc.code
        raise
    except KeyboardInterrupt:
        _exit_status[0] = 130
        raise
    except BaseException:
        _exit_status[0] = 1
        raise
