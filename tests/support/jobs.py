"""Jobs that tests enqueue on a real worker to look inside the process RQ runs them in."""

from __future__ import annotations

import sys


def modules_imported(names: list[str]) -> list[str]:
    """Which of ``names`` the job's process had already imported when the job started."""
    return [name for name in names if name in sys.modules]


def frozen_objects() -> int:
    """How many objects the job's process inherited frozen, out of the garbage collector's reach."""
    import gc

    return gc.get_freeze_count()
