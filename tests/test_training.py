"""The training loop resumes from its checkpoint exactly; outputs appear only when complete."""

import logging

import pytest
import torch

from miniature import data, training

EXAMPLES = [{"input_ids": [0] * (1 + i % 5), "x": float(i % 7) / 7, "y": float(i % 3)} for i in range(64)]


def collate(rows):
    return {"x": torch.tensor([[r["x"]] for r in rows]), "y": torch.tensor([[r["y"]] for r in rows])}


class Interrupted(Exception):
    pass


def run(steps=30, stop_at=None, fingerprint="same", checkpoint_dir=None):
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Dropout(0.2), torch.nn.Linear(8, 1))
    calls = []

    def loss_fn(m, batch):
        calls.append(1)
        if stop_at is not None and len(calls) > stop_at:
            raise Interrupted
        return torch.nn.functional.mse_loss(m(batch["x"]), batch["y"])

    losses = training.train(model, EXAMPLES, collate, loss_fn, steps=steps, batch_size=8, learning_rate=0.05,
                            warmup_ratio=0.1, weight_decay=0.01, seed=3, checkpoint_dir=checkpoint_dir,
                            checkpoint_every=5, fingerprint=fingerprint)
    return model, losses, len(calls)


def test_resumed_training_equals_uninterrupted(tmp_path, caplog):
    reference, reference_losses, _ = run()
    with pytest.raises(Interrupted):
        run(stop_at=13, checkpoint_dir=tmp_path / "ckpt")  # killed after step 13; last checkpoint at 10
    assert (tmp_path / "ckpt" / "state.pt").exists()
    with caplog.at_level(logging.INFO, logger="miniature.training"):
        resumed, resumed_losses, steps_run = run(checkpoint_dir=tmp_path / "ckpt")
    assert "resumed from" in caplog.text and "at step 10 of 30" in caplog.text
    assert steps_run == 20
    assert resumed_losses == reference_losses  # the loss curve survives the interruption too
    for a, b in zip(reference.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_checkpoint_of_other_settings_is_ignored(tmp_path, caplog):
    with pytest.raises(Interrupted):
        run(stop_at=12, checkpoint_dir=tmp_path / "ckpt", fingerprint="old settings")
    with caplog.at_level(logging.INFO, logger="miniature.training"):
        _, _, steps_run = run(checkpoint_dir=tmp_path / "ckpt", fingerprint="new settings")
    assert "ignoring checkpoint" in caplog.text and steps_run == 30


def test_checkpoint_stays_until_discarded(tmp_path):
    # The job discards it only after its output is saved, so a kill while saving still resumes.
    run(steps=12, checkpoint_dir=tmp_path / "ckpt")
    assert (tmp_path / "ckpt" / "state.pt").exists()
    training.discard_checkpoint(tmp_path / "ckpt")
    assert not (tmp_path / "ckpt").exists()


def test_fingerprint_follows_settings_and_input_content(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights").write_bytes(b"abc")
    (tmp_path / "train.json").write_text("[]")
    first = training.fingerprint_of({"lr": 1}, tmp_path / "model", tmp_path / "train.json")
    assert first == training.fingerprint_of({"lr": 1}, tmp_path / "model", tmp_path / "train.json")
    assert first != training.fingerprint_of({"lr": 2}, tmp_path / "model", tmp_path / "train.json")
    (tmp_path / "model" / "weights").write_bytes(b"abd")  # the model was rebuilt
    assert first != training.fingerprint_of({"lr": 1}, tmp_path / "model", tmp_path / "train.json")


def test_atomic_dir_appears_only_when_complete(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with data.atomic_dir(target) as tmp:
            (tmp / "half").write_text("x")
            raise RuntimeError("killed")
    assert not target.exists() and not (tmp_path / "out.tmp").exists()
    (tmp_path / "out.tmp").mkdir()  # left by a job killed with SIGKILL
    (tmp_path / "out.tmp" / "stale").write_text("x")
    with data.atomic_dir(target) as tmp:
        (tmp / "done").write_text("x")
        assert not target.exists()
    assert sorted(p.name for p in target.iterdir()) == ["done"]
    assert not (tmp_path / "out.tmp").exists()


def test_write_json_leaves_old_file_until_new_one_is_complete(tmp_path, monkeypatch):
    path = tmp_path / "a.json"
    data.write_json({"v": 1}, path)

    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(data.json, "dump", broken_dump)
    with pytest.raises(OSError):
        data.write_json({"v": 2}, path)
    monkeypatch.undo()
    assert data.read_json(path) == {"v": 1}
