"""Walk the landing zone, hash what is there, and sort it into new, duplicate and already-seen files."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from prefect import task
from prefect.cache_policies import NO_CACHE

from chitieu.config import FEEDS, Settings
from chitieu.errors import LandingZoneMissing
from chitieu.landing import LandedFile, SkippedPath
from chitieu.warehouse import get_engine, read_sql

__all__ = ["Discovery", "classify_files", "discover_files", "landed_fingerprints"]


@dataclass
class Discovery:
    """Files found in the inbox, split by what must happen to them."""

    new: list[LandedFile] = field(default_factory=list)
    duplicates: list[tuple[LandedFile, int]] = field(default_factory=list)  # with the submission it repeats
    seen: list[LandedFile] = field(default_factory=list)                    # same path and bytes as before
    skipped: list[SkippedPath] = field(default_factory=list)


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


Fingerprints = dict[str, tuple[int, int, str]]  # rel_path -> (size, modification time in µs since 1970, sha256)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def landed_fingerprints(settings: Settings) -> Fingerprints:
    """Size, modification time and hash of every inbox path the warehouse has seen (its latest content)."""
    with get_engine(settings).connect() as conn:
        return {rel_path: (size, modified_us, sha) for rel_path, size, modified_us, sha
                in conn.execute(sa.text(read_sql("discover/fingerprints.sql")))}


def _entries(folder: str | Path) -> list[os.DirEntry]:
    with os.scandir(folder) as it:
        return sorted(it, key=lambda e: e.name)


@task(name="discover_files", cache_policy=NO_CACHE)
def discover_files(inbox: Path, unit_codes: list[str],
                   fingerprints: Fingerprints | None = None) -> tuple[list[LandedFile], list[SkippedPath]]:
    """Every readable file at <inbox>/<unit>/<feed>/<file>; everything else reported as skipped, never followed.

    A file whose path, size and modification time match `fingerprints` keeps its recorded hash instead of being
    read again: an hourly pass over an inbox of thousands of old files reads only the new ones."""
    inbox = Path(inbox)
    fingerprints = fingerprints or {}
    files: list[LandedFile] = []
    skipped: list[SkippedPath] = []
    if not inbox.is_dir():  # an unmounted share is not a quiet inbox
        raise LandingZoneMissing(str(inbox))
    root = inbox.resolve()
    known_units = set(unit_codes)
    for unit_entry in _entries(root):
        rel_unit = unit_entry.name
        if unit_entry.is_symlink():
            skipped.append(SkippedPath(rel_unit, "symlink: not followed"))
            continue
        if not unit_entry.is_dir(follow_symlinks=False):
            skipped.append(SkippedPath(rel_unit, "file outside a <unit>/<feed>/ folder"))
            continue
        if rel_unit not in known_units:
            skipped.append(SkippedPath(rel_unit, "unknown unit folder (not a submitting unit of the catalog)"))
            continue
        for feed_entry in _entries(unit_entry.path):
            rel_feed = f"{rel_unit}/{feed_entry.name}"
            if feed_entry.is_symlink():
                skipped.append(SkippedPath(rel_feed, "symlink: not followed"))
                continue
            if not feed_entry.is_dir(follow_symlinks=False):
                skipped.append(SkippedPath(rel_feed, "file outside a <unit>/<feed>/ folder"))
                continue
            if feed_entry.name not in FEEDS:
                skipped.append(SkippedPath(rel_feed, f"unknown feed folder (expected one of {', '.join(FEEDS)})"))
                continue
            for entry in _entries(feed_entry.path):
                rel = f"{rel_feed}/{entry.name}"
                if entry.is_symlink():
                    skipped.append(SkippedPath(rel, "symlink: not followed"))
                elif entry.is_dir(follow_symlinks=False):
                    skipped.append(SkippedPath(rel, "nested folder: files must sit directly in the feed folder"))
                elif not entry.is_file(follow_symlinks=False):
                    skipped.append(SkippedPath(rel, "not a regular file"))
                elif entry.name.startswith(("~$", ".")):
                    # hidden files and office lock files are not submissions; any other file is one, and a file of
                    # another format is rejected (file_format) so that its unit hears which formats to use
                    skipped.append(SkippedPath(rel, "hidden or temporary file (name starts with '.' or '~$')"))
                else:
                    # no level of <root>/<unit>/<feed>/<file> is a symlink, so the path cannot leave the inbox
                    try:
                        stat = entry.stat(follow_symlinks=False)
                        received_at = dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC)
                        known = fingerprints.get(rel)
                        path = Path(entry.path)
                        unchanged = known and known[:2] == (stat.st_size, (received_at - _EPOCH) // _MICROSECOND)
                        sha = known[2] if unchanged else _sha256(path)
                    except OSError as exc:
                        skipped.append(SkippedPath(rel, f"cannot read: {exc.strerror}"))
                        continue
                    files.append(LandedFile(path=path, rel_path=rel, unit_code=rel_unit, feed=feed_entry.name,
                                            sha256=sha, size_bytes=stat.st_size, received_at=received_at))
    files.sort(key=lambda f: (f.received_at, f.rel_path))
    return files, skipped


@task(name="classify_files", retries=2, retry_delay_seconds=[2, 5], cache_policy=NO_CACHE)
def classify_files(settings: Settings, files: list[LandedFile], skipped: list[SkippedPath]) -> Discovery:
    """Compare with what the warehouse already holds: new content, a duplicate of known content, or seen before."""
    out = Discovery(skipped=list(skipped))
    if not files:
        return out
    with get_engine(settings).connect() as conn:
        known = {
            (r.unit_code, r.feed, r.sha256): (r.submission_id, set(r.names))
            for r in conn.execute(sa.text(
                "select s.unit_code, s.feed, s.sha256, min(s.submission_id) filter (where s.status <> 'duplicate')"
                " as submission_id, array_agg(s.file_name) as names from audit.submission s"
                " where s.sha256 = any(:shas) and s.lock_released_at is null group by 1, 2, 3"),
                {"shas": sorted({f.sha256 for f in files})})
        }
    batch: dict[tuple[str, str, str], LandedFile] = {}
    for landed in files:
        key = (landed.unit_code, landed.feed, landed.sha256)
        if key in known:
            original, names = known[key]
            if landed.rel_path in names or original is None:
                out.seen.append(landed)
            else:
                out.duplicates.append((landed, original))
        elif key in batch:
            out.duplicates.append((landed, -1))  # repeats a file of this same run; resolved at load
        else:
            batch[key] = landed
            out.new.append(landed)
    return out
