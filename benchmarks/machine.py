"""Describe the machine a benchmark ran on, and write results atomically under benchmarks/results/."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from physvae.provenance import cpu_name
from simulators import ConfigError, write_text_atomic

RESULTS = Path(__file__).resolve().parent / "results"


def run_main(main: Callable[[], object], name: str) -> None:
    """Run a benchmark script's ``main``: bad input (physvae's ConfigError: a folder that is no run, data of
    another contract, an option out of range) is one line on stderr naming what was wrong, exit code 2, instead
    of a traceback."""
    try:
        main()
    except ConfigError as e:
        print(f"python -m {name}: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def machine() -> dict:
    """CPU model, cores, memory, Python and library versions, the CPU kernel set torch uses (AVX2, AVX512, ...);
    the GPU if torch sees one."""
    info = {"platform": platform.platform(), "python": platform.python_version(), "cores": os.cpu_count()}
    if cpu_name():
        info["cpu"] = cpu_name()
    try:
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        info["memory_gib"] = round(mem_kb / 2**20, 1)
    except OSError:
        pass
    import numpy

    info["numpy"] = numpy.__version__
    try:
        import torch

        info["torch"] = torch.__version__
        # The vector kernels torch and MKL chose: figures agree bit for bit only between machines that use the same.
        info["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info


def machine_tag(info: dict) -> str:
    """A short file-name tag: 'cpu2' for this 2-core box, or the GPU name."""
    gpu = info.get("gpu")
    return gpu.replace(" ", "-").lower() if gpu else f"cpu{info['cores']}"


def write_result(name: str, record: dict, table: str) -> tuple[Path, Path]:
    """Write ``<name>_<tag>.json`` (record + machine) and ``.md`` (table + machine) atomically."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    info = record.setdefault("machine", machine())
    stem = RESULTS / f"{name}_{machine_tag(info)}"
    paths = (stem.with_suffix(".json"), stem.with_suffix(".md"))
    md = f"{table}\n\nMachine: {json.dumps(info)}\n"
    for path, text in zip(paths, (json.dumps(record, indent=2), md)):
        write_text_atomic(path, text)
    return paths


def run_json(module: str, *args: str) -> dict:
    """Run ``python -m module args`` in a fresh process (its own peak memory) and parse its last stdout line; a
    RuntimeError with the command and the end of its stderr where it fails."""
    out = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True)
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"python -m {module} {' '.join(args)} failed (exit {out.returncode}):\n{tail}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def markdown_table(columns: list[str], rows: list[list[str]]) -> str:
    """A markdown table from column titles and rows of already formatted cells."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
