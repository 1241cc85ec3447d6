"""Archive each new file's bytes before it loads, in one pack per batch (chitieu.packs), for reruns to read back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from chitieu.config import Settings
from chitieu.landing import LandedFile, archive_member
from chitieu.packs import pack_name, write_pack

__all__ = ["archive_files", "pack_path"]

PACKER_MIN_FILES = 200  # from this many files, a separate process writes the pack (see chitieu/packs.py)


def _members(files: list[LandedFile]) -> dict[str, str]:
    """Member name -> source path of the files to archive (the same bytes twice: one member)."""
    members: dict[str, str] = {}
    for f in files:
        if (member := archive_member(f)) is not None:
            members.setdefault(member, str(f.path))
    return members


def _pack_path(members: dict[str, str], archive_dir: Path) -> Path:
    return archive_dir / "packs" / pack_name(list(members))


def pack_path(files: list[LandedFile], archive_dir: Path) -> Path | None:
    """Where the pack of these files is kept; None when none of them is archived."""
    members = _members(files)
    return _pack_path(members, archive_dir) if members else None


@task(name="archive_files", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def archive_files(settings: Settings, files: list[LandedFile]) -> str | None:
    """Archive a batch of new files as one pack; its path (None if nothing was archived). The flow runs this
    beside the batch's parsing and hands the path to the load, so that no submission names a pack that does not
    exist."""
    members = _members(files)
    if not members:
        return None
    target = _pack_path(members, settings.archive_dir)
    if target.exists():
        return str(target)
    pairs = [(source, member) for member, source in members.items()]
    if len(pairs) < PACKER_MIN_FILES:
        write_pack(str(target), pairs)
        return str(target)
    lines = "".join(json.dumps(pair) + "\n" for pair in pairs)  # ASCII: any path survives any locale
    done = subprocess.run([sys.executable, "-m", "chitieu.packs", str(target)], input=lines, capture_output=True,
                          encoding="utf-8", errors="replace", cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        raise OSError(f"archiving {len(pairs)} files failed: {done.stderr.strip().splitlines()[-1:]}")
    return str(target)
