"""The `chitieu` command: thin fronts for the Prefect flows (CONTRACT.md section 5)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import typer

from chitieu.runtime import command_line_run, quiet_environment

quiet_environment()

from chitieu.errors import ChitieuError  # noqa: E402

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="chitieu: Lạng Sơn 2026 target monitoring (ingest, validate, derive, report).")


def _as_of(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint="--as-of") from None


def _fail(exc: BaseException) -> None:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    typer.echo(f"chitieu: {_printable(message)}", err=True)
    raise typer.Exit(1)


def _guard(fn):
    """Run a command; chitieu's own errors, database outages and unexpected failures end with one line on stderr.

    Flow and task run logs (with their tracebacks) still go to the Prefect API, not to the terminal."""
    import logging

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


@app.command()
def run(inbox: Path = typer.Option(None, help="Landing zone (default $CHITIEU_INBOX or ./data/inbox)."),
        as_of: str = typer.Option(None, "--as-of", help="Evaluation date YYYY-MM-DD (default today).")) -> None:
    """One ingest pass: discover, parse, validate, load, derive, alert; prints a summary table."""
    from flows.ingest import ingest

    day = _as_of(as_of)
    if inbox is not None and not inbox.is_dir():
        raise typer.BadParameter(f"{inbox} is not a folder", param_hint="--inbox")
    summary = _guard(lambda: ingest(inbox=str(inbox) if inbox else None, as_of=day))
    _print_summary(summary)
    if summary.alerts:
        typer.echo("alerts: " + ", ".join(f"{k}: {v}" for k, v in summary.alerts.items()))
    if summary.data_docs:
        typer.echo(f"data docs: {summary.data_docs}")


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


@app.command()
def demo(as_of: str = typer.Option("2026-11-20", "--as-of", help="Evaluation date of the demo."),
         seed: int = typer.Option(2026, help="Random seed (same seed, same feeds).")) -> None:
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


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
