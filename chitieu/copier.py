"""Copy files given as JSON lines [source, target] on stdin, each through a temporary name then renamed.

Run as `python -m chitieu.copier` by tasks/archive.py for large batches: a separate interpreter makes the copies'
thousands of system calls without waiting for the flow's interpreter lock (in a thread beside parsing, 3,321
small files took 4 s instead of 0.5 s). Standard library only, so it starts in milliseconds."""

from __future__ import annotations

import json
import os
import shutil
import sys


def copy_into_place(source: str, target: str) -> None:
    """Copy `source` to `target` unless it exists; readers never see a partial target."""
    if os.path.exists(target):
        return
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = f"{target}.{os.getpid()}.part"  # concurrent runs never share a temporary name
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def main() -> None:
    for line in sys.stdin:
        if line.strip():
            copy_into_place(*json.loads(line))


if __name__ == "__main__":
    main()
