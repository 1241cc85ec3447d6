"""Archive each new file's bytes before it loads: content-addressed copies that reruns read back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from chitieu.config import Settings
from chitieu.copier import copy_into_place
from chitieu.landing import MAX_FILE_BYTES, LandedFile

__all__ = ["archive_file", "archive_files", "archive_path"]

COPIER_MIN_FILES = 200  # from this many files, a separate process copies them (see chitieu/copier.py)


def archive_path(landed: LandedFile, archive_dir: Path) -> Path | None:
    """Where the file's bytes are kept; None for a file refused for its size (a unit could fill the disk)."""
    if landed.size_bytes > MAX_FILE_BYTES:
        return None
    return archive_dir / landed.sha256[:2] / f"{landed.sha256}{landed.extension}"


def archive_file(landed: LandedFile, archive_dir: Path) -> Path | None:
    """Copy the file's bytes to the content-addressed archive (kept for reruns); idempotent."""
    target = archive_path(landed, archive_dir)
    if target is not None:
        copy_into_place(str(landed.path), str(target))
    return target


@task(name="archive_files", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def archive_files(settings: Settings, files: list[LandedFile]) -> None:
    """Archive the run's new files. The flow runs this beside the first part's parsing and has loads wait for
    it, so that no submission names a copy that does not exist."""
    pairs = [(str(f.path), str(target)) for f in files
             if (target := archive_path(f, settings.archive_dir)) is not None and not target.exists()]
    if len(pairs) < COPIER_MIN_FILES:
        for source, target in pairs:
            copy_into_place(source, target)
        return
    lines = "".join(json.dumps(pair) + "\n" for pair in pairs)  # ASCII: any path survives any locale
    done = subprocess.run([sys.executable, "-m", "chitieu.copier"], input=lines, capture_output=True,
                          encoding="utf-8", errors="replace", cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        raise OSError(f"archiving {len(pairs)} files failed: {done.stderr.strip().splitlines()[-1:]}")
