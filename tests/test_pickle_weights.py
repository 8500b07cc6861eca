"""Pickle-only checkpoints (``pytorch_model.bin``): converted to safetensors at fetch time with
torch's restricted unpickler, refused when the pickle holds more than tensors."""

import json
import os
import pickle
import shutil
import subprocess
import sys

import pytest
import torch
from transformers import BertConfig, BertForPreTraining, BertTokenizerFast

from miniature import inputs, model_io

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORDS = ["the", "a", "of", "cat", "dog", "sat", "on", "mat", "ran", "big", "small", "red", "blue", "house"]


def _tokenizer(folder):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + [f"w{i}" for i in range(100 - 5 - len(WORDS))]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    return BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)


@pytest.fixture(scope="module")
def pickle_only(tmp_path_factory):
    """A tiny pre-trained-shaped BERT saved as Google's small BERTs are: config, tokenizer and
    ``pytorch_model.bin`` only (its state dict keeps the tied embeddings sharing storage)."""
    folder = tmp_path_factory.mktemp("pickle") / "tiny"
    folder.mkdir()
    tokenizer = _tokenizer(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    model = BertForPreTraining(config).eval()
    state = model.state_dict()
    tied = state["bert.embeddings.word_embeddings.weight"], state["cls.predictions.decoder.weight"]
    assert tied[0].data_ptr() == tied[1].data_ptr()  # safetensors refuses this unless each gets its own copy
    torch.save(state, folder / "pytorch_model.bin")
    config.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    assert not list(folder.glob("*.safetensors"))
    return folder, model


def _same_model(out, original):
    fetched = model_io.load_model(BertForPreTraining, out).eval()
    for (name, p), (_, q) in zip(fetched.state_dict().items(), original.state_dict().items()):
        assert torch.equal(p, q), name
    ids = torch.tensor([[2, 8, 9, 10, 3], [2, 11, 12, 13, 3]])
    with torch.no_grad():
        a, b = fetched(input_ids=ids), original(input_ids=ids)
    assert torch.equal(a.prediction_logits, b.prediction_logits)
    assert torch.equal(a.seq_relationship_logits, b.seq_relationship_logits)


def test_a_pickle_only_folder_passes_the_parse_time_check_but_not_the_loading_one(pickle_only, tmp_path):
    folder, _ = pickle_only
    inputs.check_model_dir(folder, convertible=True)
    with pytest.raises(inputs.ModelError, match="only pickle weights"):
        inputs.check_model_dir(folder)  # every stage after the fetch loads safetensors only
    shutil.copytree(folder, tmp_path / "models" / "tiny")
    inputs.check_model_dirs({"models": {"tiny": {"path": "models/tiny"}}}, tmp_path)
    (tmp_path / "models" / "tiny" / "pytorch_model.bin").rename(tmp_path / "models" / "tiny" / "weights.pt")
    with pytest.raises(inputs.InputError, match=r"only pickle weights \(weights.pt\)"):
        inputs.check_model_dirs({"models": {"tiny": {"path": "models/tiny"}}}, tmp_path)


def test_a_pickle_only_folder_is_converted_at_fetch_time(pickle_only, tmp_path):
    folder, original = pickle_only
    digest = model_io.sha256_of(folder / "pytorch_model.bin")
    out = tmp_path / "fetched"
    model_io.fetch_model(out, path=str(folder), sha256=digest)  # sha256 names the pickle the user has
    assert (out / "model.safetensors").is_file() and not list(out.glob("*.bin"))
    record = json.loads((out / model_io.CONVERTED_FILE).read_text())
    assert record == {"file": "pytorch_model.bin", "sha256": digest, "source": str(folder)}
    assert not (out / model_io.NEW_WEIGHTS_FILE).exists()  # the heads came with the pickle
    _same_model(out, original)
    assert model_io.load_masked_lm(out).config.num_hidden_layers == 2
    assert (folder / "pytorch_model.bin").is_file() and not list(folder.glob("*.safetensors"))  # source untouched


def test_a_wrong_pickle_checksum_is_refused(pickle_only, tmp_path):
    folder, _ = pickle_only
    with pytest.raises(inputs.ModelError, match="pytorch_model.bin: sha256 .* does not match the expected"):
        model_io.fetch_model(tmp_path / "out", path=str(folder), sha256="0" * 64)
    assert not (tmp_path / "out").exists()


class _Payload:
    """Unpickling this calls ``open(marker, "w")``: code that runs on load, the thing to refuse."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def _torch_save(obj, path):
    torch.save(obj, path)


def _plain_pickle(obj, path):
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def _unrestricted_load(path):
    try:
        torch.load(path, weights_only=False)
    except RuntimeError:  # a plain pickle: torch runs it while looking for its magic number, then gives up
        pass


@pytest.mark.parametrize("save", [_torch_save, _plain_pickle])
def test_a_pickle_that_would_run_code_is_refused_and_its_code_never_runs(pickle_only, tmp_path, save):
    folder, _ = pickle_only
    state = torch.load(folder / "pytorch_model.bin", weights_only=True)
    # The payload works: an unrestricted load runs it.
    save({**state, "bert.pooler.dense.bias": _Payload(tmp_path / "proof")}, tmp_path / "proof.bin")
    _unrestricted_load(tmp_path / "proof.bin")
    assert (tmp_path / "proof").exists()

    evil = tmp_path / "evil"
    shutil.copytree(folder, evil)
    marker = tmp_path / "marker"
    save({**state, "bert.pooler.dense.bias": _Payload(marker)}, evil / "pytorch_model.bin")
    inputs.check_model_dir(evil, convertible=True)  # the parse-time check does not open the pickle
    with pytest.raises(inputs.ModelError) as raised:
        model_io.fetch_model(tmp_path / "out", path=str(evil))
    assert str(evil / "pytorch_model.bin") in str(raised.value) and "refused" in str(raised.value)
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_a_pickle_of_something_other_than_tensors_is_refused(tmp_path):
    torch.save({"w": torch.zeros(2), "step": 3}, tmp_path / "pytorch_model.bin")
    with pytest.raises(inputs.ModelError, match="not a state dict"):
        model_io.read_pickle_weights(tmp_path / "pytorch_model.bin")
    (tmp_path / "pytorch_model.bin").write_bytes(b"not a pickle")
    with pytest.raises(inputs.ModelError, match="pytorch_model.bin: refused, torch.s restricted unpickler"):
        model_io.read_pickle_weights(tmp_path / "pytorch_model.bin")


def _hub_repo(cache, name, files_from, revision):
    repo = cache / f"models--test-org--{name}"
    shutil.copytree(files_from, repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)


def test_a_pickle_only_hub_repo_is_converted_from_the_hub_cache(pickle_only, tmp_path):
    """The hub code path (hf_hub_download: model.safetensors first, then pytorch_model.bin) on
    a hand-built hub cache with the hub switched off; a repo with safetensors is not converted."""
    folder, original = pickle_only
    revision = "0123456789abcdef0123456789abcdef01234567"
    _hub_repo(tmp_path / "hub", "pickled", folder, revision)
    model_io.fetch_model(tmp_path / "safe-source", path=str(folder))
    safe = tmp_path / "safe"
    shutil.copytree(tmp_path / "safe-source", safe, ignore=shutil.ignore_patterns(model_io.CONVERTED_FILE))
    _hub_repo(tmp_path / "hub", "safe", safe, revision)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from miniature.model_io import fetch_model\n"
            "for name in ('pickled', 'safe'):\n"
            "    fetch_model(f'{sys.argv[2]}/{name}', hub={'id': f'test-org/{name}', 'revision': sys.argv[3]})")
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-c", code, ROOT, str(tmp_path / "out"), revision], check=True, env=env)
    out = tmp_path / "out" / "pickled"
    assert (out / "model.safetensors").is_file() and not list(out.glob("*.bin"))
    record = json.loads((out / model_io.CONVERTED_FILE).read_text())
    assert record == {"file": "pytorch_model.bin", "sha256": model_io.sha256_of(folder / "pytorch_model.bin"),
                      "source": f"test-org/pickled@{revision}"}
    _same_model(out, original)
    assert not (tmp_path / "out" / "safe" / model_io.CONVERTED_FILE).exists()
    _same_model(tmp_path / "out" / "safe", original)
