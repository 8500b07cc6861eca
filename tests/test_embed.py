"""The embed stage on a tiny random BERT: first windows, batching, stages and the file layout."""

import logging

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForPreTraining, BertForQuestionAnswering

from miniature import data, demo_data, embed
from miniature.checkpoints import model_outputs_checkpoint
from miniature.model_io import save_model
from miniature.tokenizer import train_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    squad = demo_data.generate_qa(60, seed=0, prefix="tok")
    texts = [p["context"] for a in squad["data"] for p in a["paragraphs"]]
    return train_tokenizer(texts * 3, vocab_size=300, max_length=48)


@pytest.fixture(scope="module")
def test_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "test.json"
    data.write_json(demo_data.generate_qa(25, seed=1, prefix="test"), path)
    return path


def _config(tokenizer):
    return BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=64)


def test_first_windows_one_per_question_in_order(tokenizer, test_file):
    dataset = data.load_qa(test_file)
    windows = embed.first_windows(tokenizer, dataset, max_length=36, doc_stride=8)
    assert len(windows) == len(dataset)
    for window, question, context in zip(windows, dataset["question"], dataset["context"]):
        assert len(window["input_ids"]) <= 36
        text = tokenizer.decode(window["input_ids"], skip_special_tokens=True)
        assert text.startswith(tokenizer.decode(tokenizer(question)["input_ids"], skip_special_tokens=True))
        first_word = context.split()[0].lower().strip(".,")
        assert first_word in text  # the first window holds the start of the context


def test_batched_vectors_equal_one_at_a_time(tokenizer, test_file):
    torch.manual_seed(0)
    encoder = BertForPreTraining(_config(tokenizer)).base_model.eval()
    windows = embed.first_windows(tokenizer, data.load_qa(test_file), max_length=40, doc_stride=8)
    assert len({len(w["input_ids"]) for w in windows}) > 1  # padding happens in the batches
    batched = embed.cls_vectors(encoder, windows, tokenizer.pad_token_id, batch_size=7)
    alone = np.concatenate([embed.cls_vectors(encoder, [w], tokenizer.pad_token_id, batch_size=1) for w in windows])
    assert batched.shape == (len(windows), 32)
    np.testing.assert_allclose(batched, alone, atol=1e-5)


def test_embed_model_file_layout_stages_and_subsample(tokenizer, test_file, tmp_path):
    torch.manual_seed(0)
    pretrained = BertForPreTraining(_config(tokenizer)).eval()
    save_model(pretrained, tokenizer, tmp_path / "pretrained")
    # A QA model whose encoder is exactly the pre-trained one: both stages give the same vectors.
    qa_model = BertForQuestionAnswering(_config(tokenizer))
    qa_model.bert.load_state_dict(pretrained.bert.state_dict(), strict=False)
    save_model(qa_model, tokenizer, tmp_path / "finetuned")
    data.write_json(demo_data.generate_qa(30, seed=2, prefix="train"), tmp_path / "train.json")
    data.write_json(demo_data.generate_match_reports(8, seed=3, prefix="challenge"), tmp_path / "challenge.json")

    embed.embed_model(tmp_path / "pretrained", tmp_path / "finetuned", test_file, tmp_path / "train.json",
                      tmp_path / "challenge.json", tmp_path / "before.npz", tmp_path / "after.npz",
                      max_length=40, doc_stride=8, batch_size=4, train_questions=10, seed=3)
    before, after = data.read_arrays(tmp_path / "before.npz"), data.read_arrays(tmp_path / "after.npz")
    assert set(before) == {"test", "test_ids"}
    assert set(after) == {"test", "test_ids", "train", "train_ids", "challenge", "challenge_ids"}
    assert before["test_ids"].tolist() == after["test_ids"].tolist() == data.load_qa(test_file)["id"]
    assert before["test"].shape == (25, 32) and before["test"].dtype == np.float32
    np.testing.assert_allclose(after["test"], before["test"], atol=1e-5)
    train_ids = data.load_qa(tmp_path / "train.json")["id"]
    assert after["train_ids"].tolist() == [train_ids[i] for i in embed.sample_rows(30, 10, seed=3)]
    assert after["train"].shape == (10, 32) and after["challenge"].shape == (len(after["challenge_ids"]), 32)


def test_sample_rows():
    assert embed.sample_rows(5, None, 0) == [0, 1, 2, 3, 4]
    assert embed.sample_rows(5, 9, 0) == [0, 1, 2, 3, 4]
    rows = embed.sample_rows(100, 10, 0)
    assert len(set(rows)) == 10 and rows == sorted(rows) and rows == embed.sample_rows(100, 10, 0)
    assert rows != embed.sample_rows(100, 10, 1)


class Interrupted(Exception):
    pass


def test_vectors_resume_after_the_saved_batches_with_the_same_values(tokenizer, test_file, tmp_path):
    from miniature.checkpoints import BatchCheckpoint

    torch.manual_seed(0)
    encoder = BertForPreTraining(_config(tokenizer)).base_model.eval()
    windows = embed.first_windows(tokenizer, data.load_qa(test_file), max_length=40, doc_stride=8)
    clean = embed.cls_vectors(encoder, windows, tokenizer.pad_token_id, batch_size=3)  # 9 batches
    calls = []

    def stop_in_batch(n):
        def hook(module, args):
            calls.append(1)
            if len(calls) == n:
                raise Interrupted
        return encoder.register_forward_pre_hook(hook)

    folder = tmp_path / "ck"
    handle = stop_in_batch(6)
    with pytest.raises(Interrupted):  # killed in the 6th batch; chunks of >= 7 data points: batches 1-3 saved
        embed.cls_vectors(encoder, windows, tokenizer.pad_token_id, 3, checkpoint=BatchCheckpoint(folder, "fp", 7))
    handle.remove()
    assert [int(np.load(p)["end_batch"]) for p in sorted(folder.glob("chunk-*.npz"))] == [3]
    calls.clear()
    handle = stop_in_batch(0)
    resumed = embed.cls_vectors(encoder, windows, tokenizer.pad_token_id, 3,
                                checkpoint=BatchCheckpoint(folder, "fp", 7))
    handle.remove()
    assert len(calls) == 6  # batches 4 to 9
    np.testing.assert_array_equal(resumed, clean)  # bit for bit
    # A checkpoint of other inputs is not used: the vectors are computed afresh.
    other = embed.cls_vectors(encoder, windows, tokenizer.pad_token_id, 3, checkpoint=BatchCheckpoint(folder, "x", 7))
    np.testing.assert_array_equal(other, clean)


def test_embed_model_resumes_and_removes_its_checkpoint(tokenizer, test_file, tmp_path, caplog):
    torch.manual_seed(0)
    save_model(BertForPreTraining(_config(tokenizer)).eval(), tokenizer, tmp_path / "pretrained")
    save_model(BertForQuestionAnswering(_config(tokenizer)), tokenizer, tmp_path / "finetuned")
    data.write_json(demo_data.generate_qa(30, seed=2, prefix="train"), tmp_path / "train.json")
    data.write_json(demo_data.generate_match_reports(8, seed=3, prefix="challenge"), tmp_path / "challenge.json")

    def run(name, **resume):
        out = tmp_path / name
        embed.embed_model(tmp_path / "pretrained", tmp_path / "finetuned", test_file, tmp_path / "train.json",
                          tmp_path / "challenge.json", out / "before.npz", out / "after.npz", max_length=40,
                          doc_stride=8, batch_size=4, train_questions=10, seed=3, **resume)
        return (out / "before.npz").read_bytes(), (out / "after.npz").read_bytes()

    clean = run("clean")
    folder = tmp_path / "ck"
    # A finished split from an earlier attempt is taken as it is; its fingerprint is checked.
    model = embed.load_model(embed.STAGE_CLASSES["before"], tmp_path / "pretrained").base_model
    windows = embed.first_windows(embed.load_tokenizer(tmp_path / "pretrained"), data.load_qa(test_file), 40, 8)
    embed.cls_vectors(model, windows, tokenizer.pad_token_id, 4,
                      checkpoint=model_outputs_checkpoint(folder / "before-test", tmp_path / "pretrained", "cpu", 5,
                                                          batch_size=4, bf16=False))
    assert (folder / "before-test").is_dir()
    with caplog.at_level(logging.INFO, logger="miniature.checkpoints"):
        assert run("resumed", checkpoint_dir=folder, resume_every=5) == clean
    assert f"resumed from {folder / 'before-test'} after batch 7 (25 of 25 items done)" in caplog.text
    assert not folder.exists()
