"""Run `gridwatch bridge` with every thread under cProfile; write the merged stats on exit.

`python -m cProfile` sees only the main thread, which in the bridge just waits: the work runs
on paho's network thread and kafka-python's sender thread. Each thread is timed by its own
CPU clock (`time.thread_time`), so the stats say where the CPU goes; time spent blocked (in
select, on a lock, waiting for the GIL) does not count. Settings come from GRIDWATCH_*
variables as for `gridwatch bridge`.

    .venv/bin/python -m bench.profile_bridge OUT.prof
    .venv/bin/python -m pstats OUT.prof     # then: sort tottime, stats 30
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from gridwatch.cli import main as gridwatch_main

_profiles: list[cProfile.Profile] = []


def _profile_new_thread(_frame: FrameType, _event: str, _arg: Any) -> None:
    """`threading.setprofile` hook: replace itself with a cProfile of the starting thread."""
    sys.setprofile(None)
    profile = cProfile.Profile(time.thread_time)
    _profiles.append(profile)
    profile.enable()


def profile_bridge(out: Path) -> int:
    """Run the bridge until it stops; dump every thread's profile into `out`."""
    threading.setprofile(_profile_new_thread)
    main_profile = cProfile.Profile(time.thread_time)
    _profiles.append(main_profile)
    main_profile.enable()
    try:
        return gridwatch_main(["bridge"])
    finally:
        main_profile.disable()
        threading.setprofile(None)
        pstats.Stats(*_profiles).dump_stats(out)


if __name__ == "__main__":
    sys.exit(profile_bridge(Path(sys.argv[1])))
