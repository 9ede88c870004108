"""benchmarks.staleness: each record tied to the code that made it, and the code commits since counted exactly."""

import json
import shutil
import subprocess

import pytest

from benchmarks.staleness import ages, markdown, record_files

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(root, *args) -> str:
    out = subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def _commit(root, message) -> str:
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", message)
    return _git(root, "rev-parse", "HEAD")


def _write(path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@pytest.fixture
def repo(tmp_path):
    """A checkout whose history is: code c0, a suite record and a standalone one (c1), code c2, a record stating
    c2 as its code (c3), a change outside the code (c4), code c5."""
    root = tmp_path / "repo"
    (root / "physvae").mkdir(parents=True)
    results = root / "benchmarks" / "results"
    (root / "physvae" / "a.py").write_text("x = 0\n")
    _git(root, "init", "-q")
    c = {"c0": _commit(root, "code 0")}
    _write(results / "suite_cpu2" / "cells" / "a__M__s0.json", {"metrics": {}})
    _write(results / "suite_cpu2" / "results.json", {"derived": True})
    _write(results / "suite_cpu2" / "work" / "runs" / "r" / "summary.json", {})
    _write(results / "standalone_cpu2.json", {"rows": [], "machine": {"cpu": "AMD EPYC"}})
    c["c1"] = _commit(root, "records")
    (root / "simulators").mkdir()
    (root / "simulators" / "b.py").write_text("y = 0\n")
    c["c2"] = _commit(root, "code 2")
    _write(
        results / "suite_cpu2" / "cells" / "b__M__s0.json",
        {"versions": {"source": {"commit": c["c2"], "dirty": True}, "cpu": "Intel Xeon"}},
    )
    c["c3"] = _commit(root, "record with its source")
    (root / "README.md").write_text("words\n")
    c["c4"] = _commit(root, "not code")
    (root / "physvae" / "a.py").write_text("x = 5\n")
    c["c5"] = _commit(root, "code 5")
    return root, c


def test_derived_files_and_work_folders_are_not_records(repo):
    root, _ = repo
    names = [p.name for p in record_files(root / "benchmarks" / "results")]
    assert sorted(names) == ["a__M__s0.json", "b__M__s0.json", "standalone_cpu2.json"]


def test_code_commits_since_each_record_are_counted_from_its_stated_or_committed_commit(repo):
    root, c = repo
    rows = {r.path.split("/")[-1]: r for r in ages(root)}
    # committed at c1: c2 and c5 touched the code after it (c3's record and c4's README do not count)
    assert rows["a__M__s0.json"].commit == c["c1"] and not rows["a__M__s0.json"].exact
    assert rows["a__M__s0.json"].code_commits_since == 2
    assert rows["standalone_cpu2.json"].code_commits_since == 2
    # stated c2: only c5 since; its dirty flag carried
    b = rows["b__M__s0.json"]
    assert (b.commit, b.exact, b.dirty, b.code_commits_since) == (c["c2"], True, True, 1)


def test_an_uncommitted_record_is_left_out_and_an_unknown_stated_commit_falls_back(repo):
    root, c = repo
    results = root / "benchmarks" / "results"
    _write(
        results / "suite_cpu2" / "cells" / "a__M__s0.json", {"source": {"commit": "f" * 40, "dirty": False}}
    )
    c6 = _commit(root, "a record made in another clone")
    _write(results / "new_cpu2.json", {"rows": []})  # not committed
    rows = {r.path.split("/")[-1]: r for r in ages(root)}
    assert "new_cpu2.json" not in rows
    assert rows["a__M__s0.json"].commit == c6 and not rows["a__M__s0.json"].exact
    assert rows["a__M__s0.json"].code_commits_since == 0


def test_the_table_puts_the_stalest_folder_first(repo):
    root, _ = repo
    lines = markdown(ages(root)).splitlines()
    assert lines[2].startswith("| standalone_cpu2 | 1 | 2 / 2 |")
    assert lines[3].startswith("| suite_cpu2 | 2 | 2 / 1 |") and "| 1 of 2 | 1 |" in lines[3]
    # the machines each folder's records say they ran on (a record that says none: unknown)
    assert lines[2].endswith("| AMD EPYC |") and lines[3].endswith("| Intel Xeon, unknown |")
    assert len(markdown(ages(root), every=True).splitlines()) == 2 + 3


def test_a_results_folder_outside_the_checkout_is_refused_by_name(repo, tmp_path):
    root, _ = repo
    with pytest.raises(ValueError, match="not inside the checkout"):
        ages(root, tmp_path / "elsewhere")
