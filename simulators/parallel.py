"""Worker processes that stop with their parent.

A ``ProcessPoolExecutor`` worker whose parent is killed (kill -9, a closed terminal) would otherwise finish its
current task (a whole training cell, a whole generation chunk) as an orphan. ``watch_parent`` is the pool's
initializer: a daemon thread in each worker exits it as soon as its parent process is gone.
"""

from __future__ import annotations

import os
import threading
import time

POLL_SECONDS = 0.5


def watch_parent(parent_pid: int) -> None:
    """Start a daemon thread that ends this process when ``parent_pid`` is no longer its parent.

    Use as ``ProcessPoolExecutor(..., initializer=watch_parent, initargs=(os.getpid(),))``.
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(POLL_SECONDS)
        os._exit(1)  # the parent is gone: nobody will collect this worker's result

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()
