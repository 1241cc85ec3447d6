"""Fixtures of the reliability tests: clean reference runs to compare crashed, concurrent and outage runs with."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.conftest import fresh_database
from tests.reliability import tools

# Few examples in the default run, many under `make test-slow` (tests marked slow load the "slow" profile).
settings.register_profile("reliability-fast", max_examples=25, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("reliability-slow", max_examples=600, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
# @given takes the default settings when it decorates: the fast profile, before test modules are imported
settings.load_profile("reliability-fast")


@dataclass
class Reference:
    """A clean single run over an inbox: how to rebuild the inbox and what the warehouse held afterwards."""

    units: tuple[str, ...] | None
    bulk_units: tuple[str, ...]
    bulk_rows: int
    files: int
    figures: dict
    seconds: float

    def write(self, inbox: Path) -> int:
        return tools.write_inbox(inbox, self.units, self.bulk_units, self.bulk_rows)


def _reference(tmp: Path, server_url, template_url, units, bulk_units, bulk_rows) -> Reference:
    from flows.ingest import ingest

    home, inbox = tmp / "home", tmp / "inbox"
    home.mkdir()
    files = tools.write_inbox(inbox, units, bulk_units, bulk_rows)
    with fresh_database(server_url, template_url) as url, pytest.MonkeyPatch.context() as mp:
        for key, value in tools.cli_env(home, inbox, url).items():
            if key.startswith("CHITIEU_"):
                mp.setenv(key, value)
        started = time.monotonic()
        summary = ingest(as_of=tools.AS_OF)
        seconds = time.monotonic() - started
        assert summary.counts().get("loaded", 0) > 0
        engine = tools.check_engine(url)
        figures = tools.figures(engine)
        assert tools.violations(engine, after_recovery=True) == []
        engine.dispose()
    print(f"reference run: {files} files in {seconds:.1f} s")
    return Reference(units, bulk_units, bulk_rows, files, figures, seconds)


@pytest.fixture(scope="session")
def fast_reference(tmp_path_factory, server_url, template_url) -> Reference:
    """The default run's inbox (40 demo files of 3 units, 2 bulk files of a fourth) loaded once, cleanly."""
    return _reference(tmp_path_factory.mktemp("ref_fast"), server_url, template_url, tools.FAST_UNITS,
                      ("XA_BACSON",), 2_000)


@pytest.fixture(scope="session")
def slow_reference(tmp_path_factory, server_url, template_url) -> Reference:
    """The whole demo inbox (520 files, every unit) and four bulk units, loaded once, cleanly."""
    return _reference(tmp_path_factory.mktemp("ref_slow"), server_url, template_url, None,
                      ("XA_BACSON", "XA_BANGMAC", "XA_CAOLOC", "XA_DINHLAP"), 20_000)


@pytest.fixture
def workspace(tmp_path, server_url, template_url):
    """A fresh warehouse, home and inbox for subprocess runs; yields a factory of further fresh ones."""
    made = []

    def make(name: str = "w"):
        import contextlib

        stack = contextlib.ExitStack()
        url = stack.enter_context(fresh_database(server_url, template_url))
        root = tmp_path / f"{name}{len(made)}"
        home, inbox = root / "home", root / "inbox"
        home.mkdir(parents=True)
        inbox.mkdir()
        made.append(stack)
        return url, home, inbox, root / "logs"

    yield make
    for stack in reversed(made):
        stack.close()

