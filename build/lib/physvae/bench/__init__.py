"""Benchmark suites: data × models × seeds, trained, evaluated and tabulated against published anchors."""

from .report import write_report
from .runner import run_suite
from .suite import Suite, load_suite

__all__ = ["Suite", "load_suite", "run_suite", "write_report"]
