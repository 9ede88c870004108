"""Worker processes stop with their parent: a killed `generate --jobs N` or `bench --jobs N` leaves no orphan."""

import os
import signal
import subprocess
import sys
import time

PARENT = """
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from simulators import watch_parent

with ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=watch_parent,
                         initargs=(os.getpid(),)) as pool:
    print(pool.submit(os.getpid).result(), flush=True)
    pool.submit(time.sleep, 120)   # a long task, as a training cell is
    time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie has exited; it only waits to be reaped
        return f.read().split(") ")[-1][0] != "Z"


def test_a_worker_exits_when_its_parent_is_killed():
    with subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True) as parent:
        worker = int(parent.stdout.readline())
        assert _alive(worker)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker), "the worker outlived its killed parent"
