"""Which code made a result: the git commit of a checkout, its dirtiness, and None outside a checkout."""

import shutil
import subprocess

import pytest

from physvae.provenance import SOURCE_ROOT, code_source, source_commit

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(root, *args):
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def _checkout(tmp_path):
    """A fresh repository with physvae/ and one commit; returns it and that commit."""
    root = tmp_path / "repo"
    (root / "physvae").mkdir(parents=True)
    (root / "physvae" / "a.py").write_text("x = 1\n")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    head = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout
    return root, head.strip()


def test_a_clean_checkout_gives_its_head_commit(tmp_path):
    root, head = _checkout(tmp_path)
    assert source_commit(root) == {"commit": head, "dirty": False}


def test_a_changed_code_file_marks_it_dirty_and_other_files_do_not(tmp_path):
    root, head = _checkout(tmp_path)
    (root / "notes.md").write_text("not code\n")
    assert source_commit(root)["dirty"] is False
    (root / "physvae" / "a.py").write_text("x = 2\n")
    assert source_commit(root) == {"commit": head, "dirty": True}


def test_a_folder_that_is_not_a_checkout_top_gives_none(tmp_path):
    root, _ = _checkout(tmp_path)
    assert source_commit(tmp_path / "elsewhere") is None  # does not exist
    (tmp_path / "plain").mkdir()
    assert source_commit(tmp_path / "plain") is None  # no repository
    assert source_commit(root / "physvae") is None  # inside a repository, not its top: an installed copy


def test_the_package_reports_a_commit_where_it_runs_from_a_checkout():
    if not (SOURCE_ROOT / ".git").exists():
        pytest.skip("physvae is not running from a git checkout")
    got = source_commit()
    assert len(got["commit"]) == 40 and isinstance(got["dirty"], bool)


def test_the_code_source_is_taken_once_so_edits_made_while_work_runs_do_not_change_it(tmp_path):
    root, head = _checkout(tmp_path)
    assert code_source(root) == {"commit": head, "dirty": False}
    (root / "physvae" / "a.py").write_text("x = 2\n")  # edited while a training runs
    _git(root, "add", ".")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "two")
    assert source_commit(root)["commit"] != head  # what the checkout says now
    assert code_source(root) == {"commit": head, "dirty": False}  # what the running code was
