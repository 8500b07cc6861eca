"""Partial results of long jobs, kept so that a killed or requeued job continues where it stopped.

Two kinds, both keyed by a fingerprint of what the results were made from (see
:func:`miniature.training.fingerprint_of`); a checkpoint with another fingerprint is stale:
it is ignored and replaced, with a log line.

* :class:`RowLog`: one JSON line per finished item (the attack's reviews), appended as each
  item finishes, after a header line holding the fingerprint. A job killed while writing
  leaves a half-written last line, which is dropped.
* :class:`BatchCheckpoint`: the arrays of finished batches (window logits, [CLS] vectors),
  saved every ``every`` items as ``.npz`` chunks written under a temporary name and renamed,
  each holding the fingerprint and the batches it covers.

The job removes its checkpoint (:func:`miniature.training.discard_checkpoint`) once its
outputs are in place.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from miniature.files import atomic_file
from miniature.training import fingerprint_of

log = logging.getLogger(__name__)

# Items (windows, data points) between saved partial results when none is configured
# (predict.resume_every, embed.resume_every).
RESUME_EVERY = 5000


def inputs_digest(rows: Sequence[dict]) -> str:
    """SHA-256 of model inputs (dicts of token lists): what a batch's numbers were computed from."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True).encode() + b"\n")
    return digest.hexdigest()


class RowLog:
    """Rows appended one JSON line at a time to ``path`` after a header line ``{"fingerprint": ...}``.

    ``open()`` returns the rows a previous attempt with the same fingerprint finished (a
    half-written last line dropped) and keeps the file open for :meth:`append`; a file with
    another fingerprint, or none, is replaced by a fresh one.
    """

    def __init__(self, path: str | Path, fingerprint: str):
        self.path = Path(path)
        self.fingerprint = fingerprint
        self._file = None

    def _read(self) -> list[dict]:
        if not self.path.is_file():
            return []
        lines = self.path.read_bytes().split(b"\n")
        if lines[-1]:  # no newline after the last line: the job was killed while writing it
            log.info("%s: dropped a half-written last line", self.path)
        lines = lines[:-1]
        try:
            header = json.loads(lines[0]) if lines else None
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("fingerprint") != self.fingerprint:
            log.info("ignoring checkpoint %s: it was made with other settings or inputs; starting afresh", self.path)
            return []
        rows = []
        for number, line in enumerate(lines[1:], 2):
            try:
                rows.append(json.loads(line))
            except ValueError:
                log.info("%s: line %d is damaged; dropped with the %d lines after it", self.path, number,
                         len(lines) - number)
                break
        return rows

    def open(self, ids: Sequence | None = None) -> list[dict]:
        """The rows already finished; the file is then ready for appending after them. With
        ``ids``, only the leading rows whose ``id`` are the first of ``ids``, in order, are kept."""
        rows = self._read()
        if ids is not None:
            kept = 0
            while kept < min(len(rows), len(ids)) and rows[kept].get("id") == ids[kept]:
                kept += 1
            if kept < len(rows):
                log.info("%s: dropped %d rows that are not the next items", self.path, len(rows) - kept)
            rows = rows[:kept]
        # Rewritten under a temporary name: the header and the good lines, nothing half-written.
        with atomic_file(self.path) as f:
            for row in [{"fingerprint": self.fingerprint}, *rows]:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._file = open(self.path, "a", encoding="utf-8")
        return rows

    def append(self, row: dict) -> None:
        self._file.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class BatchCheckpoint:
    """The arrays of finished batches, in ``.npz`` chunks of at least ``every`` items.

    ``fingerprint`` is a string, or a function of the items (e.g. the model inputs, whose
    :func:`inputs_digest` it can include) that is called only when a checkpoint is kept: only
    a loop over at least ``every`` items keeps one (smaller ones run as if there were none).
    Use::

        done, chunks = checkpoint.resume(items)   # batches already done, their saved arrays
        for b in range(done, n_batches):
            ...
            checkpoint.add(b + 1, n_rows, rows=..., values=...)  # arrays of batch b
        checkpoint.flush()

    Each chunk ``chunk-<first batch>.npz`` holds the fingerprint, its batch range
    (``first_batch``, ``end_batch``) and the concatenated arrays of its batches, among them
    ``rows``: which items the batches computed.
    """

    def __init__(self, folder: str | Path, fingerprint: str | Callable[[Sequence], str], every: int):
        self.folder = Path(folder)
        self._fingerprint = fingerprint
        self.every = int(every)
        self.enabled = False
        self._pending: list[dict] = []
        self._pending_items = 0
        self._first_batch = self._end_batch = 0
        self.fingerprint = ""

    def _chunks(self) -> list[dict]:
        """The saved chunks, in batch order; raises ValueError for a stale or damaged one."""
        chunks, end = [], 0
        for path in sorted(self.folder.glob("chunk-*.npz")):
            with np.load(path, allow_pickle=False) as f:
                chunk = {name: f[name] for name in f.files}
            if str(chunk.pop("fingerprint")) != self.fingerprint:
                raise ValueError("it was made with other settings or inputs")
            if int(chunk["first_batch"]) != end:
                raise ValueError(f"{path.name} does not follow batch {end}")
            end = int(chunk["end_batch"])
            chunks.append(chunk)
        return chunks

    def resume(self, items: Sequence) -> tuple[int, list[dict]]:
        """(batches already done, their chunks) for a loop over ``items``; (0, []) when
        nothing can be resumed."""
        n_items = len(items)
        self.enabled = n_items >= self.every
        if not self.enabled:
            return 0, []
        self.fingerprint = self._fingerprint(items) if callable(self._fingerprint) else self._fingerprint
        chunks: list[dict] = []
        if self.folder.is_dir():
            try:
                chunks = self._chunks()
            except Exception as error:
                log.info("ignoring checkpoint %s: %s; starting afresh", self.folder, error)
                shutil.rmtree(self.folder, ignore_errors=True)
                chunks = []
        for tmp in self.folder.glob("*.tmp"):  # a chunk whose writing was interrupted
            tmp.unlink(missing_ok=True)
        self._first_batch = self._end_batch = int(chunks[-1]["end_batch"]) if chunks else 0
        if chunks:
            log.info("resumed from %s after batch %d (%d of %d items done)", self.folder, self._first_batch,
                     sum(len(c["rows"]) for c in chunks), n_items)
        return self._first_batch, chunks

    def add(self, end_batch: int, n_items: int, **arrays: np.ndarray) -> None:
        """Record one finished batch (``end_batch`` = its index + 1) of ``n_items`` items."""
        if not self.enabled:
            return
        self._pending.append({name: np.asarray(a) for name, a in arrays.items()})
        self._pending_items += n_items
        self._end_batch = end_batch
        if self._pending_items >= self.every:
            self.flush()

    def flush(self) -> None:
        """Save the batches recorded since the last chunk as one chunk."""
        if not self.enabled or not self._pending:
            return
        arrays = {name: np.concatenate([p[name] for p in self._pending]) for name in self._pending[0]}
        with atomic_file(self.folder / f"chunk-{self._first_batch:08d}.npz", "wb") as f:
            np.savez(f, fingerprint=np.asarray(self.fingerprint), first_batch=np.asarray(self._first_batch),
                     end_batch=np.asarray(self._end_batch), **arrays)
        self._pending, self._pending_items, self._first_batch = [], 0, self._end_batch


def model_outputs_checkpoint(folder: str | Path, model_dir: str | Path, device: str, every: int,
                             **batching) -> BatchCheckpoint:
    """Where a model's outputs on batches of windows (predict's logits, embed's vectors) are
    kept: keyed by the model's content, the windows' tokens, what the batches are made with
    (``batching``: batch size, token cap, bf16) and the device type."""
    def fingerprint(windows):
        return fingerprint_of({**batching, "device": str(device).split(":")[0], "windows": inputs_digest(windows)},
                              model_dir)

    return BatchCheckpoint(folder, fingerprint, every)
