"""Archive each new file's bytes before it is parsed: content-addressed copies that reruns read back."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from chitieu.config import Settings
from chitieu.landing import MAX_FILE_BYTES, LandedFile

__all__ = ["archive_file", "archive_files", "archive_path"]


def archive_path(landed: LandedFile, archive_dir: Path) -> Path | None:
    """Where the file's bytes are kept; None for a file refused for its size (a unit could fill the disk)."""
    if landed.size_bytes > MAX_FILE_BYTES:
        return None
    return archive_dir / landed.sha256[:2] / f"{landed.sha256}{landed.extension}"


def archive_file(landed: LandedFile, archive_dir: Path) -> Path | None:
    """Copy the file's bytes to the content-addressed archive (kept for reruns); idempotent."""
    target = archive_path(landed, archive_dir)
    if target is not None and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f"{target.suffix}.{os.getpid()}.part")  # concurrent runs never share a tmp
        shutil.copyfile(landed.path, tmp)
        tmp.replace(target)
    return target


@task(name="archive_files", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def archive_files(settings: Settings, files: list[LandedFile]) -> None:
    """Archive the run's new files, in the flow's thread before the pipeline starts: as a background thread
    beside parsing and loading, the copies' thousands of system calls each waited for the interpreter lock."""
    for landed in files:
        archive_file(landed, settings.archive_dir)
