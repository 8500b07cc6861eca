import logging

import numpy as np
import pytest
import torch

from miniature.training import discard_checkpoint, epoch_batches, fingerprint_of, total_steps, train


def test_epoch_batches_cover_each_example_once_and_group_lengths():
    lengths = list(np.random.default_rng(0).integers(5, 100, size=1000))
    batches = epoch_batches(lengths, 10, seed=3, epoch=0)
    flat = np.concatenate(batches)
    assert len(flat) == 1000 and len(set(flat.tolist())) == 1000
    spread = np.mean([np.ptp([lengths[i] for i in b]) for b in batches])
    assert spread < 10  # sorted within windows: little padding
    assert [b.tolist() for b in batches] == [b.tolist() for b in epoch_batches(lengths, 10, seed=3, epoch=0)]
    assert [b.tolist() for b in batches] != [b.tolist() for b in epoch_batches(lengths, 10, seed=3, epoch=1)]


def test_total_steps():
    assert total_steps(1000, 32, steps=7) == 7
    assert total_steps(1000, 32, epochs=2) == 62


def _toy_problem():
    rng = np.random.default_rng(0)
    examples = [{"input_ids": [int(i) for i in rng.integers(0, 20, size=rng.integers(3, 9))]} for _ in range(64)]
    for e in examples:
        e["label"] = int(sum(e["input_ids"]) % 2)

    def collate(rows):
        width = max(len(r["input_ids"]) for r in rows)
        ids = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r["input_ids"])] = torch.tensor(r["input_ids"])
        return {"ids": ids, "label": torch.tensor([r["label"] for r in rows])}

    def loss_fn(model, batch):
        logits = model[1](torch.nn.functional.dropout(model[0](batch["ids"]).mean(1), 0.2, training=True))
        return torch.nn.functional.cross_entropy(logits, batch["label"])

    return examples, collate, loss_fn


def _model():
    torch.manual_seed(0)
    return torch.nn.ModuleList([torch.nn.Embedding(20, 8), torch.nn.Linear(8, 2)])


SETTINGS = dict(steps=12, batch_size=8, learning_rate=0.05, warmup_ratio=0.1, seed=5)


def test_training_is_reproducible_and_learns():
    examples, collate, loss_fn = _toy_problem()
    a, b = _model(), _model()
    losses = train(a, examples, collate, loss_fn, **SETTINGS)
    train(b, examples, collate, loss_fn, **SETTINGS)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    assert len(losses) == 12


def test_interrupted_training_resumes_to_the_same_weights(tmp_path, caplog):
    examples, collate, loss_fn = _toy_problem()
    reference = _model()
    reference_losses = train(reference, examples, collate, loss_fn, **SETTINGS)

    calls = {"n": 0}

    def crashing_loss(model, batch):
        calls["n"] += 1
        if calls["n"] == 9:  # dies during step 9, after the checkpoint of step 8
            raise KeyboardInterrupt
        return loss_fn(model, batch)

    interrupted = _model()
    with pytest.raises(KeyboardInterrupt):
        train(interrupted, examples, collate, crashing_loss, checkpoint_dir=tmp_path / "ckpt", checkpoint_every=4,
              fingerprint="v1", **SETTINGS)
    assert (tmp_path / "ckpt" / "state.pt").exists()

    resumed = _model()
    with caplog.at_level(logging.INFO, logger="miniature.training"):
        resumed_losses = train(resumed, examples, collate, loss_fn, checkpoint_dir=tmp_path / "ckpt",
                               checkpoint_every=4, fingerprint="v1", **SETTINGS)
    assert "at step 8 of 12" in caplog.text
    for p, q in zip(reference.parameters(), resumed.parameters()):
        assert torch.equal(p, q)
    assert resumed_losses == reference_losses  # the loss curve survives the interruption too
    # The job discards the checkpoint only once its output is saved, so a kill while saving still resumes.
    assert (tmp_path / "ckpt" / "state.pt").exists()
    discard_checkpoint(tmp_path / "ckpt")
    assert not (tmp_path / "ckpt").exists()


def test_checkpoint_of_other_settings_is_ignored(tmp_path):
    examples, collate, loss_fn = _toy_problem()
    partial = _model()
    train(partial, examples, collate, loss_fn, checkpoint_dir=tmp_path / "ckpt", checkpoint_every=4,
          fingerprint="old", **{**SETTINGS, "steps": 5})
    # Leave a stale checkpoint behind by hand.
    discard_checkpoint(tmp_path / "ckpt")
    torch.save({"model": partial.state_dict(), "step": 4, "fingerprint": "old"}, tmp_path / "state.pt")
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "state.pt").replace(tmp_path / "ckpt" / "state.pt")
    fresh, reference = _model(), _model()
    train(fresh, examples, collate, loss_fn, checkpoint_dir=tmp_path / "ckpt", fingerprint="new", **SETTINGS)
    train(reference, examples, collate, loss_fn, **SETTINGS)
    for p, q in zip(reference.parameters(), fresh.parameters()):
        assert torch.equal(p, q)


def test_fingerprint_follows_settings_and_input_content(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights").write_bytes(b"abc")
    (tmp_path / "train.json").write_text("[]")
    first = fingerprint_of({"lr": 1}, tmp_path / "model", tmp_path / "train.json")
    assert first == fingerprint_of({"lr": 1}, tmp_path / "model", tmp_path / "train.json")
    assert first != fingerprint_of({"lr": 2}, tmp_path / "model", tmp_path / "train.json")
    (tmp_path / "model" / "weights").write_bytes(b"abd")  # the model was rebuilt since the checkpoint
    assert first != fingerprint_of({"lr": 1}, tmp_path / "model", tmp_path / "train.json")


def test_gradient_accumulation_trains_on_the_same_batches():
    examples, _, _ = _toy_problem()
    pad = 20  # an index of its own: a zero vector that gets no gradient

    def collate(rows):
        width = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r["input_ids"])] = torch.tensor(r["input_ids"])
        lengths = torch.tensor([len(r["input_ids"]) for r in rows], dtype=torch.float32)
        return {"ids": ids, "lengths": lengths, "label": torch.tensor([r["label"] for r in rows])}

    def loss_fn(model, batch):  # a mean over examples that padding does not change
        pooled = model[0](batch["ids"]).sum(1) / batch["lengths"][:, None]
        return torch.nn.functional.cross_entropy(model[1](pooled), batch["label"])

    def model():
        torch.manual_seed(0)
        return torch.nn.ModuleList([torch.nn.Embedding(21, 8, padding_idx=pad), torch.nn.Linear(8, 2)])

    whole, parts = model(), model()
    whole_losses = train(whole, examples, collate, loss_fn, **SETTINGS)
    part_losses = train(parts, examples, collate, loss_fn, gradient_accumulation=4, **SETTINGS)
    np.testing.assert_allclose(part_losses, whole_losses, rtol=1e-5)
    for p, q in zip(whole.parameters(), parts.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_a_batch_that_does_not_split_into_its_micro_batches_is_refused():
    examples, collate, loss_fn = _toy_problem()
    with pytest.raises(ValueError, match="batch_size 8 is not a multiple of gradient_accumulation 3"):
        train(_model(), examples, collate, loss_fn, gradient_accumulation=3, **SETTINGS)
