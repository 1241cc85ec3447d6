"""Concurrency: several `chitieu run` processes at once over the same inbox behave like one run.

Nothing but the warehouse coordinates them (unique indexes, advisory locks): every file is loaded once, facts
are counted once, no alert is recorded twice, and every figure equals a single clean run's.
"""

from __future__ import annotations

import time

import pytest

from tests.reliability import tools


def run_at_once(reference, workspace, processes: int) -> dict:
    url, home, inbox, logs = workspace(f"concurrent{processes}_")
    reference.write(inbox)
    env = tools.cli_env(home, inbox, url)
    engine = tools.check_engine(url)
    try:
        started = time.monotonic()
        children = [tools.spawn(["run", "--as-of", tools.AS_OF.isoformat()], env, logs, f"run{i}")
                    for i in range(processes)]
        try:
            for child in children:
                child.wait(timeout=600)
        finally:
            for child in children:
                child.kill()
        seconds = time.monotonic() - started
        for i, child in enumerate(children):
            tools.assert_clean_exit(child, f"run {i} of {processes}")
        assert tools.violations(engine, after_recovery=True) == []
        figures = tools.figures(engine)
        differences = tools.diff(reference.figures, figures)
        assert not differences, f"{processes} runs at once:\n" + "\n".join(d[:400] for d in differences)
        # each submission was claimed by exactly one of the runs
        loaded_by = [c.stdout.count(" loaded") for c in children]
        assert sum(1 for n in loaded_by if n) >= 1
        return {"seconds": seconds, "submissions": len(figures["submissions"]), "rows": tools.fact_rows(figures)}
    finally:
        engine.dispose()


def test_two_runs_at_once_equal_one_run(fast_reference, workspace):
    result = run_at_once(fast_reference, workspace, 2)
    print(f"2 concurrent runs: {result}")


@pytest.mark.slow
@pytest.mark.parametrize("processes", [2, 4])
def test_many_runs_at_once_equal_one_run(slow_reference, workspace, processes):
    result = run_at_once(slow_reference, workspace, processes)
    print(f"{processes} concurrent runs: {result}")
