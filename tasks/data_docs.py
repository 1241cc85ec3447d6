"""Great Expectations Data Docs under $CHITIEU_HOME/data_docs: a validation page per submission that failed a check.

tasks/validate.py runs each feed's suite once over all of a run's files and keeps the per-file failures in
audit.check_result, not GX's result objects. This step maps every submission's recorded failures back onto its
feed's suite (matching each expectation's meta.check and meta.column), adds the parse- and file-level checks that
run before the suite, stores the results in a file-backed GX context and lets GX's own site builder render them
(only the new pages and the index; suites are re-rendered when their JSON changes). Descriptions are the
Vietnamese messages the units receive, followed by the check name.

Only submissions with a failed check (rejected, or loaded with warnings) get a page: a clean submission's page is
all green and says no more than mart.submission_log, while rendering one costs 36–86 ms in GX (store plus site
builder), minutes for a national run of 3,321 files. The site itself (suite pages, index) is built on the first
run and whenever a suite's JSON changes, so a run of clean files does not import GX at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import sqlalchemy as sa
from prefect import task
from prefect.cache_policies import NO_CACHE

from chitieu.config import FEEDS, Settings
from chitieu.feeds import EXPECTATIONS_DIR
from chitieu.messages_vi import describe_check
from chitieu.warehouse import get_engine, read_sql

__all__ = ["build_data_docs", "validation_result"]

SITE = "local_site"
INDEX_LIMIT = 200   # validation results listed on the index page (newest first); each is read to list it
_log = logging.getLogger(__name__)


def _site_config(folder: Path) -> dict:
    return {"class_name": "SiteBuilder", "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(folder)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "validation_results_limit": INDEX_LIMIT}}


def _context(folder: Path):
    """The file-backed GX context whose site is `folder` (project files in folder/gx)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx  # imported lazily (~3 s) and only when there is something new to render

    folder.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(folder))
    if context.variables.data_docs_sites.get(SITE) != _site_config(folder):
        context.update_data_docs_site(SITE, _site_config(folder))
    return context


def _suite_body(feed: str) -> tuple[dict, str]:
    text = (EXPECTATIONS_DIR / f"{feed}.json").read_text(encoding="utf-8")
    return json.loads(text), hashlib.sha256(text.encode()).hexdigest()[:16]


def _description(feed: str, check: str, column: str | None, sample: list[dict]) -> str:
    return f"{describe_check(feed, check, column, sample)} ({check})".replace("$", "＄")


def _matches(meta: dict, failure: dict) -> bool:
    if (meta.get("check"), meta.get("column")) != (failure["expectation"], failure["column_name"]):
        return False
    keys = {k for row in failure["sample"] or [] for k in row}
    return not keys or set(meta.get("columns") or ()) <= keys


def _observed(rows_total: int, failure: dict | None, column: str | None) -> dict:
    if failure is None:
        return {"element_count": rows_total, "unexpected_count": 0, "unexpected_percent": 0.0,
                "partial_unexpected_list": []}
    count = failure["failed_rows"] or 0
    return {"element_count": rows_total, "unexpected_count": count,
            "unexpected_percent": 100.0 * count / rows_total if rows_total else 100.0,
            "partial_unexpected_list": [row.get(column) for row in failure["sample"] or [] if column in row]}


def _synthetic(failure: dict) -> tuple[str, dict]:
    """Expectation type and kwargs standing for a check that runs before the suite (parse or file level)."""
    check, column = failure["expectation"], failure["column_name"]
    if check.endswith("_format") and column:
        return "expect_column_values_to_be_of_type", {"column": column, "type_": check.removesuffix("_format")}
    if check == "column_present" and column:
        return "expect_column_to_exist", {"column": column}
    return "expect_table_row_count_to_be_between", {"min_value": 1}


def validation_result(sub: dict, failures: list[dict], suite_body: dict):
    """A GX suite validation result for one submission, built from its recorded failed checks."""
    from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    feed, rows_total = sub["feed"], sub["rows_total"] or 0
    unmatched = list(failures)
    results = []
    suite_ran = rows_total > 0
    for spec in suite_body["expectations"] if suite_ran else []:
        meta = spec.get("meta") or {}
        failure = next((f for f in unmatched if _matches(meta, f)), None)
        if failure is not None:
            unmatched.remove(failure)
        config = ExpectationConfiguration(type=spec["type"], kwargs=spec["kwargs"], meta=meta, description=(
            _description(feed, meta["check"], meta.get("column"), failure["sample"] if failure else [])
            if meta.get("check") else None))
        results.append(ExpectationValidationResult(success=failure is None, expectation_config=config,
                                                   result=_observed(rows_total, failure, meta.get("column"))))
    for failure in unmatched:
        kind, kwargs = _synthetic(failure)
        config = ExpectationConfiguration(type=kind, kwargs=kwargs, meta={"check": failure["expectation"]},
                                          description=_description(feed, failure["expectation"],
                                                                   failure["column_name"], failure["sample"] or []))
        observed = (_observed(rows_total, failure, failure["column_name"]) if failure["sample"]
                    else {"observed_value": failure["message"] or failure["expectation"]})
        results.append(ExpectationValidationResult(success=False, expectation_config=config, result=observed))
    ok = sum(r.success for r in results)
    run_id = RunIdentifier(run_name=f"run-{sub['run_id']}", run_time=sub["processed_at"])
    return ExpectationSuiteValidationResult(
        success=ok == len(results), results=results, suite_name=suite_body["name"],
        statistics={"evaluated_expectations": len(results), "successful_expectations": ok,
                    "unsuccessful_expectations": len(results) - ok,
                    "success_percent": 100.0 * ok / len(results) if results else None},
        meta={"active_batch_definition": {"datasource_name": sub["unit_code"], "data_asset_name": sub["file_name"],
                                          "batch_definition_name": f"submission {sub['submission_id']}"},
              "batch_spec": {"data_asset_name": sub["file_name"]},
              "run_id": run_id, "validation_time": sub["processed_at"],
              "chitieu": {"submission_id": sub["submission_id"], "status": sub["status"]}})


def _refresh_suites(context, suites: dict[str, tuple[dict, str]]) -> list:
    """Store each feed's suite when its JSON changed; return the identifiers whose pages need rebuilding."""
    import great_expectations as gx
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    changed = []
    for feed in sorted(suites):
        body, checksum = suites[feed]
        try:
            if context.suites.get(body["name"]).meta.get("checksum") == checksum:
                continue
            context.suites.delete(body["name"])
        except Exception:  # GX raises its own not-found errors
            pass
        context.suites.add(gx.ExpectationSuite(name=body["name"], expectations=body["expectations"],
                                               meta={**(body.get("meta") or {}), "checksum": checksum}))
        changed.append(ExpectationSuiteIdentifier(name=body["name"]))
    return changed


def _load(engine: sa.Engine, submission_ids: list[int]) -> tuple[list[dict], dict[int, list[dict]]]:
    with engine.connect() as conn:
        subs = [dict(r) for r in conn.execute(sa.text(read_sql("data_docs/submissions.sql")),
                                               {"ids": submission_ids}).mappings()]
        checks = conn.execute(sa.text(read_sql("alerts/failed_checks.sql")),
                              {"ids": [s["submission_id"] for s in subs]}).mappings().all()
    by_submission: dict[int, list[dict]] = {}
    for check in checks:
        by_submission.setdefault(check["submission_id"], []).append(dict(check))
    return subs, by_submission


@task(name="build_data_docs", cache_policy=NO_CACHE)
def build_data_docs(settings: Settings, submission_ids: list[int]) -> str | None:
    """Render the pages of the new submissions that failed a check, the suites when they changed, and the index;
    return index.html's path (None if none yet)."""
    folder, index = settings.data_docs_dir, settings.data_docs_dir / "index.html"
    suites = {feed: _suite_body(feed) for feed in FEEDS}
    stamp, checksum = folder / "suites.sha256", ",".join(digest for _, digest in suites.values())
    try:
        subs, checks = _load(get_engine(settings), submission_ids) if submission_ids else ([], {})
        failed = [s for s in subs if checks.get(s["submission_id"])]
        site_current = index.exists() and stamp.exists() and stamp.read_text() == checksum
        if not failed and (site_current or not subs):
            return str(index) if index.exists() else None
        from great_expectations.data_context.types.resource_identifiers import (  # lazily: ~3 s, only with work
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        context = _context(folder)
        resources = _refresh_suites(context, suites)
        for sub in failed:
            body = suites[sub["feed"]][0]
            result = validation_result(sub, checks[sub["submission_id"]], body)
            key = ValidationResultIdentifier(ExpectationSuiteIdentifier(name=body["name"]), result.meta["run_id"],
                                             f"{sub['unit_code']}-{sub['feed']}-{sub['submission_id']}")
            context.validation_results_store.set(key, result)
            resources.append(key)
        context.build_data_docs(site_names=[SITE], resource_identifiers=resources)
        stamp.write_text(checksum)
    except Exception as exc:  # Data Docs are a view: never fail the ingest over them
        _log.warning("Data Docs not built: %s: %s", type(exc).__name__, exc)
    return str(index) if index.exists() else None
