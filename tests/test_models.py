"""Model building, saving and the one loading path (local folders and the hub cache)."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from transformers import AutoModelForPreTraining, AutoModelForQuestionAnswering, BertModel

from miniature import demo_data, inputs, model_io, pretraining
from miniature.tokenizer import SPECIAL_TOKENS, train_tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def corpus():
    return demo_data.generate_corpus(120, seed=0)


@pytest.fixture(scope="module")
def tokenizer(corpus):
    return train_tokenizer(corpus, vocab_size=300, max_length=64)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory, tokenizer):
    torch.manual_seed(0)
    model = pretraining.new_bert(tokenizer, layers=2, hidden=32, heads=2, intermediate=64, max_length=64)
    path = tmp_path_factory.mktemp("model") / "tiny"
    model_io.save_model(model, tokenizer, path)
    return path


def test_tokenizer_is_a_lowercasing_bert_tokenizer(tokenizer):
    encoded = tokenizer("Anna Berg", "Was born in Oslo.")
    assert tokenizer.convert_ids_to_tokens(encoded["input_ids"])[0] == "[CLS]"
    assert encoded["token_type_ids"][-1] == 1
    assert tokenizer.decode(tokenizer("ANNA")["input_ids"], skip_special_tokens=True) == "anna"


def test_tokenizer_has_the_special_tokens_at_the_ids_the_code_expects(tokenizer):
    assert [tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS] == [0, 1, 2, 3, 4]
    assert (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id,
            tokenizer.mask_token_id) == (0, 1, 2, 3, 4)
    # Only those are special: the characters the trainer was handed to keep are ordinary entries.
    assert sorted(tokenizer.all_special_tokens) == sorted(SPECIAL_TOKENS)
    assert sorted(t.content for t in tokenizer.added_tokens_decoder.values()) == sorted(SPECIAL_TOKENS)
    assert len(tokenizer) == 300 and tokenizer.model_max_length == 64
    assert "##e" in tokenizer.get_vocab()


def test_tokenizer_training_gives_the_same_files_in_every_process(corpus, tmp_path):
    """tokenizers' trainer numbers tokens in hash-map order, which changes from process to process
    (huggingface/tokenizers#1794); the tokenizer it trains here must not."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from miniature import demo_data; "
            "from miniature.tokenizer import train_tokenizer; "
            "train_tokenizer(demo_data.generate_corpus(120, seed=0), 300, 64).save_pretrained(sys.argv[2])")
    for run in ("1", "2", "3"):
        subprocess.run([sys.executable, "-c", code, ROOT, str(tmp_path / run)], check=True,
                       env={**os.environ, "PYTHONHASHSEED": run})
    train_tokenizer(corpus, 300, 64).save_pretrained(str(tmp_path / "here"))
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json"):
        assert len({(tmp_path / run / name).read_bytes() for run in ("1", "2", "3", "here")}) == 1, name


def test_sentence_pairs_mix_true_and_random_continuations(corpus):
    pairs = pretraining.sentence_pairs(corpus, seed=0)
    labels = [label for _, _, label in pairs]
    assert 0.35 < sum(labels) / len(labels) < 0.65
    first, second, label = next(p for p in pairs if p[2] == 0)
    assert any(first + " " + second in doc for doc in corpus)


@pytest.fixture(scope="module")
def pretrained(corpus, tokenizer):
    """A tiny model after a short pre-training, and the loss curve of that training."""
    torch.manual_seed(0)
    model = pretraining.new_bert(tokenizer, layers=1, hidden=32, heads=2, intermediate=64, max_length=64)
    examples = pretraining.pretraining_examples(tokenizer, corpus, 64, seed=0)
    losses = pretraining.pretrain(model, tokenizer, examples, steps=40, seed=0, batch_size=16, learning_rate=3e-3)
    return model, losses, examples


def test_pretraining_lowers_the_loss(pretrained):
    _, losses, _ = pretrained
    assert losses[-1] < losses[0] - 0.5


def test_distillation_brings_the_student_closer_to_the_teacher(tokenizer, pretrained):
    teacher, _, examples = pretrained
    torch.manual_seed(1)
    student = pretraining.new_bert(tokenizer, layers=1, hidden=16, heads=2, intermediate=32, max_length=64)
    batch = pretraining._masking_collator(tokenizer)(examples[:64])

    def gap():
        with torch.no_grad():
            s, t = pretraining._pretraining_outputs(student, batch), pretraining._pretraining_outputs(teacher, batch)
        return pretraining.soft_kl(s[0], t[0], 1.0).item()

    before = gap()
    pretraining.distil(student, teacher, tokenizer, examples, steps=30, seed=0, batch_size=16, learning_rate=3e-3)
    assert gap() < 0.7 * before


def test_fetch_from_a_local_folder_and_reload_for_qa(saved_model, tmp_path):
    out = tmp_path / "fetched"
    model_io.fetch_model(out, path=str(saved_model))
    assert (out / "model.safetensors").exists() and not list(out.glob("*.bin"))
    qa_model = model_io.load_model(AutoModelForQuestionAnswering, out)
    assert qa_model.config.num_hidden_layers == 2


def test_a_fetched_encoder_without_a_masked_lm_head_is_refused_as_the_attack_masked_lm(saved_model, tmp_path):
    encoder = BertModel.from_pretrained(saved_model)  # weights without pre-training heads
    encoder.save_pretrained(tmp_path / "encoder")
    model_io.load_tokenizer(saved_model).save_pretrained(tmp_path / "encoder")
    model_io.fetch_model(tmp_path / "fetched", path=str(tmp_path / "encoder"))
    new = json.loads((tmp_path / "fetched" / model_io.NEW_WEIGHTS_FILE).read_text())
    assert "cls.predictions.bias" in new
    with pytest.raises(inputs.ModelError, match="masked-LM head was not in the weights"):
        model_io.load_masked_lm(tmp_path / "fetched")
    model_io.fetch_model(tmp_path / "whole", path=str(saved_model))  # pre-trained with its heads
    assert not (tmp_path / "whole" / model_io.NEW_WEIGHTS_FILE).exists()
    assert model_io.load_masked_lm(tmp_path / "whole").config.num_hidden_layers == 2


def test_refuses_pickles_remote_code_and_empty_folders(saved_model, tmp_path):
    pickled = tmp_path / "pickled"
    shutil.copytree(saved_model, pickled)
    (pickled / "model.safetensors").unlink()
    torch.save({}, pickled / "pytorch_model.bin")
    with pytest.raises(inputs.ModelError, match="only pickle weights"):
        inputs.check_model_dir(pickled)

    remote = tmp_path / "remote"
    shutil.copytree(saved_model, remote)
    config = json.loads((remote / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    (remote / "config.json").write_text(json.dumps(config))
    with pytest.raises(inputs.ModelError, match="custom code"):
        inputs.check_model_dir(remote)

    with pytest.raises(inputs.ModelError, match="no such folder"):
        inputs.check_model_dir(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(inputs.ModelError, match="no config.json"):
        inputs.check_model_dir(tmp_path / "empty")


def test_fetch_from_the_hub_code_path_with_a_local_cache(saved_model, tmp_path):
    """The hub source goes through from_pretrained(id, revision=...) exactly as with hub access;
    here the files sit in a local hub cache and the hub is switched off."""
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--test-org--tiny-bert"
    shutil.copytree(saved_model, repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    out = tmp_path / "from-hub"
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from miniature.model_io import fetch_model; "
            "fetch_model(sys.argv[2], hub={'id': 'test-org/tiny-bert', 'revision': sys.argv[3]})")
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-c", code, ROOT, str(out), revision], check=True, env=env)
    fetched = model_io.load_model(AutoModelForPreTraining, out)
    original = model_io.load_model(AutoModelForPreTraining, saved_model)
    for (name, p), (_, q) in zip(fetched.state_dict().items(), original.state_dict().items()):
        assert torch.equal(p, q), name
