"""What a landed file is, as discovery sees it."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from chitieu.packs import has_member, read_member

__all__ = ["ACCEPTED_EXTENSIONS", "MAX_FILE_BYTES", "LandedFile", "SkippedPath", "archive_member", "holds_a_file"]

MAX_FILE_BYTES = 150 * 1024 * 1024  # larger files are refused (parse) and not archived
# CONTRACT.md section 2; any other file in a unit's feed folder is a rejected submission (check file_format)
ACCEPTED_EXTENSIONS = (".csv", ".txt", ".xlsx", ".xls", ".ods", ".json")


@dataclass(frozen=True)
class LandedFile:
    """One file in <inbox>/<unit_code>/<feed>/, hashed; or its archived copy (a rerun): `path` is then the
    archive pack and `member` its name inside (chitieu.packs), or `path` a file of older archives (no member)."""

    path: Path
    rel_path: str
    unit_code: str
    feed: str
    sha256: str
    size_bytes: int
    received_at: dt.datetime  # when it landed (file modification time, UTC)
    member: str | None = None

    @property
    def extension(self) -> str:
        return (Path(self.member) if self.member else self.path).suffix.lower()

    def read_bytes(self) -> bytes:
        return self.path.read_bytes() if self.member is None else read_member(str(self.path), self.member)

    def exists(self) -> bool:
        return self.path.is_file() if self.member is None else has_member(str(self.path), self.member)


@dataclass(frozen=True)
class SkippedPath:
    """A path discovery refused to follow or read, and why."""

    rel_path: str
    reason: str


def archive_member(landed: LandedFile) -> str | None:
    """The file's name inside an archive pack; None for a file refused for its size (a unit could fill the disk).
    Archiving names the members, loading records them."""
    if landed.size_bytes > MAX_FILE_BYTES:
        return None
    return f"{landed.sha256}{landed.extension}"


def holds_a_file(inbox: Path) -> bool:
    """Whether any regular file sits at <inbox>/<unit>/<feed>/<file> (symlinks not followed): the walk stops at
    the first one, so that a pass can guess, before discovery, whether it may have something to validate."""
    def folders(path) -> list[os.DirEntry]:
        try:
            with os.scandir(path) as entries:
                return [e for e in entries if e.is_dir(follow_symlinks=False)]
        except OSError:
            return []

    for unit in folders(inbox):
        for feed in folders(unit.path):
            try:
                with os.scandir(feed.path) as entries:
                    if any(e.is_file(follow_symlinks=False) for e in entries):
                        return True
            except OSError:
                continue
    return False
