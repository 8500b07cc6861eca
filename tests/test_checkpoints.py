"""The checkpoint helpers of the resumable stages (attack, predict, embed)."""

import json
import logging

import numpy as np
import pytest

from miniature.checkpoints import BatchCheckpoint, RowLog, inputs_digest

ROWS = [{"id": f"r{i}", "outcome": "failed", "text": f"review {i} – ünïcode"} for i in range(4)]


def write_log(path, fingerprint, rows):
    log = RowLog(path, fingerprint)
    assert log.open() == []
    for row in rows:
        log.append(row)
    log.close()


def test_row_log_resumes_its_rows_and_appends_after_them(tmp_path):
    path = tmp_path / "ck" / "rows.jsonl"
    write_log(path, "fp", ROWS[:2])
    assert json.loads(path.read_text().splitlines()[0]) == {"fingerprint": "fp"}
    log = RowLog(path, "fp")
    assert log.open() == ROWS[:2]
    log.append(ROWS[2])
    log.close()
    assert RowLog(path, "fp").open() == ROWS[:3]


def test_row_log_drops_a_half_written_last_line(tmp_path, caplog):
    path = tmp_path / "rows.jsonl"
    write_log(path, "fp", ROWS[:3])
    whole = path.read_bytes()
    path.write_bytes(whole + json.dumps(ROWS[3]).encode()[:-5])  # killed while writing row 4
    with caplog.at_level(logging.INFO, logger="miniature.checkpoints"):
        log = RowLog(path, "fp")
        assert log.open() == ROWS[:3]
    assert "half-written last line" in caplog.text
    assert path.read_bytes() == whole  # the broken line is gone before anything is appended
    log.append(ROWS[3])
    log.close()
    assert RowLog(path, "fp").open() == ROWS


def test_row_log_with_a_damaged_line_keeps_the_rows_before_it(tmp_path):
    path = tmp_path / "rows.jsonl"
    write_log(path, "fp", ROWS[:1])
    path.write_bytes(path.read_bytes() + b'{"id": "r1", "outc\n' + json.dumps(ROWS[2]).encode() + b"\n")
    assert RowLog(path, "fp").open() == ROWS[:1]


@pytest.mark.parametrize("header", [b'{"fingerprint": "other"}\n', b'{"fingerpr', b"", b"[1, 2]\n"],
                         ids=["other fingerprint", "half-written header", "empty", "no header"])
def test_row_log_made_from_something_else_is_ignored_and_replaced(tmp_path, caplog, header):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(header + b"".join(json.dumps(r).encode() + b"\n" for r in ROWS))
    with caplog.at_level(logging.INFO, logger="miniature.checkpoints"):
        log = RowLog(path, "fp")
        assert log.open() == []
        log.close()
    assert "ignoring checkpoint" in caplog.text
    assert path.read_text() == json.dumps({"fingerprint": "fp"}) + "\n"


def test_row_log_keeps_only_rows_of_the_expected_items_in_order(tmp_path):
    path = tmp_path / "rows.jsonl"
    write_log(path, "fp", ROWS)
    assert RowLog(path, "fp").open(ids=["r0", "r1", "x", "r3"]) == ROWS[:2]
    assert RowLog(path, "fp").open(ids=["r0", "r1", "r2", "r3"]) == ROWS[:2]  # the rest was dropped
    path.unlink()
    write_log(path, "fp", ROWS)
    assert RowLog(path, "fp").open(ids=["r0"]) == ROWS[:1]


def run_batches(checkpoint, items, batches, fail_at=None):
    """A loop like window_logits/cls_vectors: each item's value is 10 * item, float32."""
    values = np.full(len(items), np.nan, dtype=np.float32)
    done, chunks = checkpoint.resume(items)
    for chunk in chunks:
        values[chunk["rows"]] = chunk["values"]
    ran = []
    for b in range(done, len(batches)):
        if b == fail_at:
            raise KeyboardInterrupt
        rows = np.asarray(batches[b])
        values[rows] = 10 * rows
        ran.append(b)
        checkpoint.add(b + 1, len(rows), rows=rows, values=values[rows])
    checkpoint.flush()
    return values, ran


BATCHES = [[0, 1, 2], [3, 4], [5], [6, 7], [8, 9]]
ITEMS = [{"input_ids": [i, i + 1]} for i in range(10)]


def test_batch_checkpoint_resumes_after_the_saved_batches(tmp_path):
    folder = tmp_path / "ck"
    with pytest.raises(KeyboardInterrupt):
        run_batches(BatchCheckpoint(folder, "fp", every=3), ITEMS, BATCHES, fail_at=4)
    # Chunks of at least 3 items: batch 0, then batches 1-2; batch 3 was not saved yet.
    assert sorted(p.name for p in folder.iterdir()) == ["chunk-00000000.npz", "chunk-00000001.npz"]
    values, ran = run_batches(BatchCheckpoint(folder, "fp", every=3), ITEMS, BATCHES)
    assert ran == [3, 4]
    np.testing.assert_array_equal(values, 10 * np.arange(10))


def test_batch_checkpoint_of_another_fingerprint_is_discarded(tmp_path, caplog):
    folder = tmp_path / "ck"
    run_batches(BatchCheckpoint(folder, lambda items: f"fp-{len(items)}", every=2), ITEMS, BATCHES)
    (folder / "chunk-00000009.npz.tmp").write_bytes(b"half")  # a chunk whose writing was killed
    with caplog.at_level(logging.INFO, logger="miniature.checkpoints"):
        values, ran = run_batches(BatchCheckpoint(folder, "other", every=2), ITEMS, BATCHES)
    assert ran == [0, 1, 2, 3, 4]
    assert "ignoring checkpoint" in caplog.text
    assert not list(folder.glob("*.tmp"))
    np.testing.assert_array_equal(values, 10 * np.arange(10))
    _, ran = run_batches(BatchCheckpoint(folder, "other", every=2), ITEMS, BATCHES)
    assert ran == []  # the replacement checkpoint is complete


def test_batch_checkpoint_keeps_nothing_for_fewer_items_than_its_threshold(tmp_path):
    def fingerprint(items):
        raise AssertionError("the fingerprint of a loop without checkpoint is never computed")

    values, ran = run_batches(BatchCheckpoint(tmp_path / "ck", fingerprint, every=11), ITEMS, BATCHES)
    assert ran == [0, 1, 2, 3, 4] and not (tmp_path / "ck").exists()


def test_inputs_digest_tells_inputs_apart():
    assert inputs_digest(ITEMS) == inputs_digest([dict(i) for i in ITEMS])
    assert inputs_digest(ITEMS) != inputs_digest(ITEMS[:-1])
    assert inputs_digest(ITEMS) != inputs_digest(ITEMS[:-1] + [{"input_ids": [9, 9]}])
