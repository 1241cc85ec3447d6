"""Great Expectations' Data Docs site: each failing submission's validation result, built from its recorded checks,
stored in a file-backed GX context and rendered by GX's site builder (tasks/data_docs.py decides what to render).

Runs where Great Expectations is loaded: in the suite worker when the process started one (chitieu.suites), else
in the calling process."""

from __future__ import annotations

import os
from pathlib import Path

from chitieu.messages_vi import describe_check

__all__ = ["render", "validation_result"]

SITE = "local_site"
INDEX_LIMIT = 200   # validation results listed on the index page (newest first); each is read to list it


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


def render(folder: Path, suites: dict[str, tuple[dict, str]], failed: list[dict],
           checks: dict[int, list[dict]]) -> None:
    """Store the suites whose JSON changed and the failing submissions' validation results in the site at `folder`,
    and render their pages and the index."""
    from great_expectations.data_context.types.resource_identifiers import (
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
