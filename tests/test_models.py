"""Model building, saving and the one loading path (local folders and the hub cache)."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from transformers import AutoModelForPreTraining, AutoModelForQuestionAnswering, BertForPreTraining, BertModel

from miniature import demo_data, models

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def corpus():
    return demo_data.generate_corpus(120, seed=0)


@pytest.fixture(scope="module")
def tokenizer(corpus):
    return models.train_tokenizer(corpus, vocab_size=300, max_length=64)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory, tokenizer):
    torch.manual_seed(0)
    model = models.new_bert(tokenizer, layers=2, hidden=32, heads=2, intermediate=64, max_length=64)
    path = tmp_path_factory.mktemp("model") / "tiny"
    models.save_model(model, tokenizer, path)
    return path


def test_tokenizer_is_a_lowercasing_bert_tokenizer(tokenizer):
    encoded = tokenizer("Anna Berg", "Was born in Oslo.")
    assert tokenizer.convert_ids_to_tokens(encoded["input_ids"])[0] == "[CLS]"
    assert encoded["token_type_ids"][-1] == 1
    assert tokenizer.decode(tokenizer("ANNA")["input_ids"], skip_special_tokens=True) == "anna"


def test_wordpiece_vocabulary_merges_the_most_frequent_pair_first():
    vocabulary = models.wordpiece_vocabulary({"ab": 3, "abc": 1, "cd": 1}, 100, ["[UNK]"])
    # specials, characters, continuation characters, then merges: a+##b (4 times), ab+##c, c+##d (ties: alphabetical)
    assert vocabulary == ["[UNK]", "a", "b", "c", "d", "##b", "##c", "##d", "ab", "abc", "cd"]
    assert models.wordpiece_vocabulary({"ab": 3, "abc": 1, "cd": 1}, 9, ["[UNK]"])[-1] == "ab"  # stops at vocab_size


def test_tokenizer_training_is_the_same_in_every_process(corpus):
    """The library's trainer breaks ties in hash-map order, which changes from process to
    process (huggingface/tokenizers#1794); ours must not."""
    code = ("import sys, json; sys.path.insert(0, sys.argv[1]); from miniature import demo_data, models; "
            "print(json.dumps(models.train_tokenizer(demo_data.generate_corpus(120, seed=0), 300, 64).get_vocab(),"
            " sort_keys=True))")
    runs = [subprocess.run([sys.executable, "-c", code, ROOT], check=True, capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")]
    assert runs[0] == runs[1] == runs[2]
    assert json.loads(runs[0]) == models.train_tokenizer(corpus, 300, 64).get_vocab()


def test_sentence_pairs_mix_true_and_random_continuations(corpus):
    pairs = models.sentence_pairs(corpus, seed=0)
    labels = [label for _, _, label in pairs]
    assert 0.35 < sum(labels) / len(labels) < 0.65
    first, second, label = next(p for p in pairs if p[2] == 0)
    assert any(first + " " + second in doc for doc in corpus)


@pytest.fixture(scope="module")
def pretrained(corpus, tokenizer):
    """A tiny model after a short pre-training, and the loss curve of that training."""
    torch.manual_seed(0)
    model = models.new_bert(tokenizer, layers=1, hidden=32, heads=2, intermediate=64, max_length=64)
    examples = models.pretraining_examples(tokenizer, corpus, 64, seed=0)
    losses = models.pretrain(model, tokenizer, examples, steps=40, seed=0, batch_size=16, learning_rate=3e-3)
    return model, losses, examples


def test_pretraining_lowers_the_loss(pretrained):
    _, losses, _ = pretrained
    assert losses[-1] < losses[0] - 0.5


def test_distillation_brings_the_student_closer_to_the_teacher(tokenizer, pretrained):
    teacher, _, examples = pretrained
    torch.manual_seed(1)
    student = models.new_bert(tokenizer, layers=1, hidden=16, heads=2, intermediate=32, max_length=64)
    batch = models._masking_collator(tokenizer)(examples[:64])

    def gap():
        with torch.no_grad():
            s, t = models._pretraining_outputs(student, batch), models._pretraining_outputs(teacher, batch)
        return models.soft_kl(s[0], t[0], 1.0).item()

    before = gap()
    models.distil(student, teacher, tokenizer, examples, steps=30, seed=0, batch_size=16, learning_rate=3e-3)
    assert gap() < 0.7 * before


def test_fetch_from_a_local_folder_and_reload_for_qa(saved_model, tmp_path):
    out = tmp_path / "fetched"
    models.fetch_model(out, path=str(saved_model))
    assert (out / "model.safetensors").exists() and not list(out.glob("*.bin"))
    qa_model = models.load_model(AutoModelForQuestionAnswering, out)
    assert qa_model.config.num_hidden_layers == 2


def test_a_fetched_encoder_without_a_masked_lm_head_is_refused_as_the_attack_masked_lm(saved_model, tmp_path):
    encoder = BertModel.from_pretrained(saved_model)  # weights without pre-training heads
    encoder.save_pretrained(tmp_path / "encoder")
    models.load_tokenizer(saved_model).save_pretrained(tmp_path / "encoder")
    models.fetch_model(tmp_path / "fetched", path=str(tmp_path / "encoder"))
    new = json.loads((tmp_path / "fetched" / models.NEW_WEIGHTS_FILE).read_text())
    assert "cls.predictions.bias" in new
    with pytest.raises(models.ModelError, match="masked-LM head was not in the weights"):
        models.load_masked_lm(tmp_path / "fetched")
    models.fetch_model(tmp_path / "whole", path=str(saved_model))  # pre-trained with its heads
    assert not (tmp_path / "whole" / models.NEW_WEIGHTS_FILE).exists()
    assert models.load_masked_lm(tmp_path / "whole").config.num_hidden_layers == 2


def test_refuses_pickles_remote_code_and_empty_folders(saved_model, tmp_path):
    pickled = tmp_path / "pickled"
    shutil.copytree(saved_model, pickled)
    (pickled / "model.safetensors").unlink()
    torch.save({}, pickled / "pytorch_model.bin")
    with pytest.raises(models.ModelError, match="only pickle weights"):
        models.check_model_dir(pickled)

    remote = tmp_path / "remote"
    shutil.copytree(saved_model, remote)
    config = json.loads((remote / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    (remote / "config.json").write_text(json.dumps(config))
    with pytest.raises(models.ModelError, match="custom code"):
        models.check_model_dir(remote)

    with pytest.raises(models.ModelError, match="no such folder"):
        models.check_model_dir(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(models.ModelError, match="no config.json"):
        models.check_model_dir(tmp_path / "empty")


def test_fetch_from_the_hub_code_path_with_a_local_cache(saved_model, tmp_path):
    """The hub source goes through from_pretrained(id, revision=...) exactly as with hub access;
    here the files sit in a local hub cache and the hub is switched off."""
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--test-org--tiny-bert"
    shutil.copytree(saved_model, repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    out = tmp_path / "from-hub"
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from miniature.models import fetch_model; "
            "fetch_model(sys.argv[2], hub={'id': 'test-org/tiny-bert', 'revision': sys.argv[3]})")
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-c", code, ROOT, str(out), revision], check=True, env=env)
    fetched = models.load_model(AutoModelForPreTraining, out)
    original = models.load_model(AutoModelForPreTraining, saved_model)
    for (name, p), (_, q) in zip(fetched.state_dict().items(), original.state_dict().items()):
        assert torch.equal(p, q), name
