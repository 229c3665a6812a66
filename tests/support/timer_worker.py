"""A timer scheduler in its own OS process, for tests that need several (or one to SIGKILL).

    python -m tests.support.timer_worker <database url> <name> [poll seconds]

Prints `ready <pid>` on stdout once its scheduler has started (and armed what was due), then runs
until SIGTERM/SIGINT, when it shuts the scheduler down and exits 0. It also exits when its parent
(the test run) goes away, so an interrupted run leaves no scheduler behind.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType

from engine import desk
from engine.process.scheduler import TimerScheduler
from engine.store.db import Database


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    url, name = argv[0], argv[1]
    poll = float(argv[2]) if len(argv) == 3 else 0.2
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format=f"%(asctime)s {name} %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    parent = os.getppid()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    desk.install()  # as the app and the CLI scheduler run
    database = Database(url)
    scheduler = TimerScheduler(database, name=name, poll_seconds=poll)
    scheduler.start()
    print(f"ready {os.getpid()}", flush=True)
    try:
        while not stop.wait(0.5):
            if os.getppid() != parent:
                break
    finally:
        scheduler.shutdown()
        database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
