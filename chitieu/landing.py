"""What a landed file is, as discovery sees it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MAX_FILE_BYTES", "LandedFile", "SkippedPath"]

MAX_FILE_BYTES = 150 * 1024 * 1024  # larger files are refused (parse) and not archived


@dataclass(frozen=True)
class LandedFile:
    """One file in <inbox>/<unit_code>/<feed>/, hashed."""

    path: Path
    rel_path: str
    unit_code: str
    feed: str
    sha256: str
    size_bytes: int
    received_at: dt.datetime  # when it landed (file modification time, UTC)

    @property
    def extension(self) -> str:
        return self.path.suffix.lower()


@dataclass(frozen=True)
class SkippedPath:
    """A path discovery refused to follow or read, and why."""

    rel_path: str
    reason: str
