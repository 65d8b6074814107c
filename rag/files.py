"""File-system helpers shared by the index and the model cache: owned temp paths and their cleanup."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def alive(pid: int) -> bool:
    """Whether a process with this id exists (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner(temp: Path, prefix: str) -> int | None:
    """The process id written into the name of a temp path made as ``<prefix><pid>...``, if any."""
    if not temp.name.startswith(prefix):
        return None
    digits = temp.name[len(prefix):].split("-", 1)[0]
    return int(digits) if digits.isdigit() else None


def remove_stale(folder: Path, prefix: str) -> list[Path]:
    """Delete the temp files and folders named ``<prefix><pid>...`` in ``folder`` whose process is gone
    (a killed run's leftovers); a live process's temp path is never touched. Returns what was removed."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for entry in folder.glob(f"{prefix}*"):
        pid = owner(entry, prefix)
        if pid is not None and alive(pid):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed
