"""Files written so that a killed job never leaves a half-written one, and the one message for
a file that cannot be read.

Every output is written under a temporary name (``<name>.tmp``) and renamed once complete
(:func:`atomic_file`, :func:`atomic_dir`): a rerun sees either the whole file or none.
"""

from __future__ import annotations

import gzip
import os
import shutil
from contextlib import contextmanager
from pathlib import Path


def is_output(path: str | Path) -> bool:
    """Whether ``path`` is something the workflow made: under ``results/`` of the working
    directory (where every job runs)."""
    path = Path(path)
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            return False
    return path.parts[:1] == ("results",)


def damaged(file: str | Path, problem: str, remove: str | Path | None = None) -> str:
    """The one message for a file that cannot be read: it names the file, what is wrong and
    what to do: for something the workflow made (under results/), delete ``remove`` (the
    file, or the folder it belongs to) and rerun, so that the workflow makes it again."""
    remove = remove or file
    if is_output(remove):
        return f"{file} is damaged ({problem}): delete {remove} and rerun"
    return f"{file} is damaged ({problem}): the workflow does not make it; replace it with a good copy"


def open_text(path: str | Path):
    """``path`` opened for reading as UTF-8 text, through gzip when it ends in ``.gz``."""
    path = Path(path)
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def _temporary(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


@contextmanager
def atomic_file(path: str | Path, mode: str = "w"):
    """Write a file under a temporary name and rename it to ``path`` once the block completes.

    Yields the temporary file open in ``mode`` (``"w"``: UTF-8 text, ``"wb"``: bytes); its
    contents reach the disk (fsync) before the rename, so that a crash of the machine leaves
    the old file or the new one, never an empty one. The parent folder is made if needed; a
    block that raises leaves no file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    try:
        with open(tmp, mode, encoding=None if "b" in mode else "utf-8") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)


@contextmanager
def atomic_dir(path: str | Path):
    """Build a folder under a temporary name and rename it to ``path`` once the block completes.

    A job killed half-way leaves only ``<path>.tmp`` (removed by the next attempt), never a
    half-written ``path`` that a rerun could trust.
    """
    path = Path(path)
    tmp = _temporary(path)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)
