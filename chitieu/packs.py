"""Archive packs: a batch of landed files kept as the members of one uncompressed ZIP file.

One file per batch instead of one per landed file: at national scale a run lands 3,321 files, and creating that
many files cost this kind of machine ~2 s of kernel CPU, against ~0.1 s for one pack of the same bytes. ZIP
(stdlib `zipfile`, stored, not deflated) because any operator can list and extract it with standard tools.
Members are named `<sha256><extension>`; the pack's name is derived from its members, so that writing the same
batch again (a retried task) finds the pack in place.

`python -m chitieu.packs <target>` reads JSON lines `[source path, member name]` on stdin and writes the pack:
tasks/archive.py runs it as a separate process for large batches, so that its thousands of system calls do not
wait for the flow's interpreter lock. Standard library only, so it starts in milliseconds."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import zipfile

__all__ = ["has_member", "pack_name", "read_member", "write_pack"]


def pack_name(members: list[str]) -> str:
    """File name of the pack holding exactly these members (in any order)."""
    digest = hashlib.sha256("\n".join(sorted(members)).encode()).hexdigest()
    return f"{digest[:2]}/{digest}.zip"


def write_pack(target: str, members: list[tuple[str, str]]) -> None:
    """Write (source path, member name) pairs to the pack `target` unless it exists; readers never see a partial
    pack (a temporary name, flushed to disk, then renamed)."""
    if os.path.exists(target):
        return
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = f"{target}.{os.getpid()}.part"  # concurrent runs never share a temporary name
    try:
        with open(tmp, "wb") as raw:
            with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED, allowZip64=True) as pack:
                for source, member in members:
                    pack.write(source, member)
            raw.flush()
            os.fsync(raw.fileno())  # one fsync per pack: the warehouse will name it once the load commits
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@functools.lru_cache(maxsize=64)
def _members(pack: str, mtime_ns: int) -> frozenset[str]:
    with zipfile.ZipFile(pack) as archive:
        return frozenset(archive.namelist())


def has_member(pack: str, member: str) -> bool:
    """Whether the pack exists and holds the member."""
    try:
        return member in _members(pack, os.stat(pack).st_mtime_ns)
    except (OSError, zipfile.BadZipFile):
        return False


def read_member(pack: str, member: str) -> bytes:
    """The bytes of one member; KeyError if the pack does not hold it."""
    with zipfile.ZipFile(pack) as archive:
        return archive.read(member)


def main() -> None:
    pairs = [tuple(json.loads(line)) for line in sys.stdin if line.strip()]
    write_pack(sys.argv[1], pairs)


if __name__ == "__main__":
    main()
