import subprocess
from pathlib import Path

from bench.provenance import code_version


def _git(tree: Path, *arguments: str) -> None:
    subprocess.run(["git", "-C", str(tree), *arguments], check=True, capture_output=True)


def test_code_version_names_the_commit_and_says_when_the_measured_paths_changed(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "measured").mkdir()
    (tmp_path / "measured" / "code.py").write_text("x = 1\n")
    (tmp_path / "notes.txt").write_text("a\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.email=t@example.test", "-c", "user.name=t", "commit", "-q", "-m", "one")
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()

    assert code_version("measured", tree=tmp_path) == head
    (tmp_path / "notes.txt").write_text("b\n")
    assert code_version("measured", tree=tmp_path) == head  # a change elsewhere is not the code measured
    assert code_version(tree=tmp_path) == f"{head}+changes"
    (tmp_path / "measured" / "code.py").write_text("x = 2\n")
    assert code_version("measured", tree=tmp_path) == f"{head}+changes"


def test_code_version_outside_git_is_none(tmp_path: Path) -> None:
    assert code_version(tree=tmp_path) is None
