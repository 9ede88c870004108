"""What a training session will cost, said once its first steps are timed.

A run on the CPU at the importer's default sizes (32 px frames, whole sequences) can take hours, and tqdm's ETA
sits at the end of a line a user may not read. ``CostEstimate`` times ``TIMED`` steps after the first (which pays
for warm-up) and gives one line: the steps left, seconds per step, where and on how many threads, and the time
left; past ``LONG`` seconds on a CPU it adds what shortens it.
"""

from __future__ import annotations

import time

TIMED = 10  # steps timed (after the first) before the estimate
LONG = 3600.0  # seconds: a CPU training longer than this gets the warning with what shortens it


class CostEstimate:
    """Call ``tick()`` after every step of a session: it returns the estimate's lines once, after the first step
    and ``TIMED`` more (an empty list every other time, and always where the session is shorter than that).

    Args:
        steps_left: the steps this session will run.
        device: where it trains ("cpu", "cuda", ...).
        threads: torch's CPU threads.
        clock: seconds now (``time.perf_counter``; a test passes its own).
    """

    def __init__(self, steps_left: int, device: str, threads: int, clock=time.perf_counter):
        self.steps_left, self.device, self.threads, self.clock = steps_left, device, threads, clock
        self.done, self.t1 = 0, None

    def tick(self) -> list[str]:
        self.done += 1
        if self.done == 1:
            self.t1 = self.clock()
        if self.done != 1 + TIMED:
            return []
        per_step = (self.clock() - self.t1) / TIMED
        return lines(per_step, self.steps_left - self.done, self.device, self.threads)


def lines(per_step: float, left: int, device: str, threads: int) -> list[str]:
    """The estimate for ``left`` more steps at ``per_step`` seconds each, and the warning where it is long on a
    CPU."""
    total = per_step * left
    where = f"{device} ({threads} thread{'s' if threads != 1 else ''})" if device == "cpu" else device
    out = [f"estimate: {left} steps left at {per_step:.2g} s a step on {where}: about {duration(total)}"]
    if device == "cpu" and total > LONG:
        out.append(
            f"warning: this training will take about {duration(total)} on the CPU; for a first look shorten it "
            "(--train.steps), train on windows of the sequences (--train.window=15), use smaller frames "
            "(physvae import --size 16), or a GPU"
        )
    return out


def duration(seconds: float) -> str:
    """Seconds as a person reads them: "40 s", "12 min", "3.5 h"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
