"""Flow: publish the province's open-data package (CONTRACT.md section 10)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from chitieu.config import load_settings
from tasks.open_data import record_publication, write_open_data

__all__ = ["publish_open_data"]


@flow(name="publish-open-data")
def publish_open_data(out: str | None = None) -> dict:
    """Write <out or $CHITIEU_HOME/opendata>: CSV + Parquet per resource, datapackage.json, dcat.jsonld.

    Returns the folder, the data's as-of date and, per file, its sha256, rows and whether it changed since the
    previous publication (recorded in audit.open_data_publication)."""
    settings = load_settings()
    folder = Path(out).resolve() if out else settings.home / "opendata"
    package = write_open_data(settings, folder)
    changed = record_publication(settings, package)
    return {
        "folder": str(package.folder),
        "as_of": package.as_of.isoformat(),
        "notes": package.notes,
        "files": [{"file": f.file_name, "resource": f.resource, "rows": f.row_count, "sha256": f.sha256,
                   "changed": changed[f.file_name]} for f in package.files],
    }
