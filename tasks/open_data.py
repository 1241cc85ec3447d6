"""Write the open-data package from the warehouse, and record in audit what was published."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from prefect import task
from prefect.cache_policies import NO_CACHE

from chitieu.config import Settings
from chitieu.open_data import PublishedPackage, build_package
from chitieu.warehouse import get_engine, read_sql

__all__ = ["record_publication", "write_open_data"]


@task(name="write_open_data", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def write_open_data(settings: Settings, out: Path) -> PublishedPackage:
    """Read the mart in one snapshot (repeatable read) and write the package into `out`."""
    engine = get_engine(settings).execution_options(isolation_level="REPEATABLE READ")
    with engine.connect() as conn:
        try:
            return build_package(conn, out)
        finally:
            conn.rollback()  # the stand-in temporary views are the only thing created; nothing is kept


@task(name="record_publication", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def record_publication(settings: Settings, package: PublishedPackage) -> dict[str, bool]:
    """One audit row per file written; returns file name -> whether its bytes changed since it was last published."""
    changed = {}
    with get_engine(settings).begin() as conn:
        for published in package.files:
            changed[published.file_name] = conn.scalar(sa.text(read_sql("publish/record_file.sql")), {
                "out_dir": str(package.folder), "resource": published.resource, "file_name": published.file_name,
                "sha256": published.sha256, "bytes": published.bytes, "row_count": published.row_count,
                "as_of": package.as_of})
    return changed
