"""Outputs written under a temporary name and renamed once complete."""

import pytest

from miniature import files


def test_atomic_file_replaces_the_old_file_only_when_complete(tmp_path):
    path = tmp_path / "sub" / "out.txt"
    with files.atomic_file(path) as f:  # the folder is made
        f.write("old\n")
    with pytest.raises(RuntimeError), files.atomic_file(path) as f:
        f.write("half")
        raise RuntimeError("killed")
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.txt"]
    with files.atomic_file(path, "wb") as f:
        f.write(b"new")
        assert path.read_text() == "old\n"
    assert path.read_bytes() == b"new"


def test_atomic_dir_appears_only_when_complete(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RuntimeError), files.atomic_dir(target) as tmp:
        (tmp / "half").write_text("x")
        raise RuntimeError("killed")
    assert not target.exists() and not (tmp_path / "out.tmp").exists()
    (tmp_path / "out.tmp").mkdir()  # left by a job killed with SIGKILL
    (tmp_path / "out.tmp" / "stale").write_text("x")
    with files.atomic_dir(target) as tmp:
        (tmp / "done").write_text("x")
        assert not target.exists()
    assert sorted(p.name for p in target.iterdir()) == ["done"]
    assert not (tmp_path / "out.tmp").exists()
