"""The pure parts of benchmarks/paper_cost.py: parameter and FLOP counts, work from the
config, hours, schedules."""

import copy
import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

from miniature import config as cfg

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("paper_cost", ROOT / "benchmarks" / "paper_cost.py")
paper_cost = importlib.util.module_from_spec(_spec)
sys.modules["paper_cost"] = paper_cost  # dataclasses look their module up while the file runs
_spec.loader.exec_module(paper_cost)


@pytest.fixture(scope="module")
def paper():
    with open(ROOT / "configs" / "paper.yaml") as f:
        return cfg.validate_config(yaml.safe_load(f))


def test_bert_base_counts():
    base = paper_cost.SHAPES["base"]
    # 12 layers of 7,087,872 weights: BERT-base's well-known 85M non-embedding parameters.
    assert paper_cost.encoder_params(base) == 85_054_464
    # bert-base-uncased as BertModel with pooler is 109,482,240 parameters; QA drops the
    # pooler and adds 2 x 768 + 2.
    assert paper_cost.params(base, "qa") == 109_482_240 - (768 * 768 + 768) + 2 * 768 + 2
    # Forward FLOPs per token at length 384: 2 x weights + attention 4 x layers x 384 x 768 + QA head.
    assert paper_cost.forward_flops_per_token(base, 384) == 2 * 85_054_464 + 4 * 12 * 384 * 768 + 4 * 768
    assert paper_cost.train_flops_per_token(base, 384) == 3 * paper_cost.forward_flops_per_token(base, 384)


@pytest.mark.parametrize("distil", [False, True])
def test_parameter_counts_match_transformers(distil):
    transformers = pytest.importorskip("transformers")
    shape = paper_cost.Shape(2, 64, 256, 2, distil=distil, vocab=1000)
    if distil:
        config = transformers.DistilBertConfig(vocab_size=1000, dim=64, n_layers=2, n_heads=2, hidden_dim=256)
        classes = {
            "pretraining": transformers.DistilBertForMaskedLM,
            "qa": transformers.DistilBertForQuestionAnswering,
            "classifier": transformers.DistilBertForSequenceClassification,
        }
    else:
        config = transformers.BertConfig(
            vocab_size=1000, hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=256
        )
        classes = {
            "pretraining": transformers.BertForPreTraining,
            "qa": transformers.BertForQuestionAnswering,
            "classifier": transformers.BertForSequenceClassification,
        }
    for head, cls in classes.items():
        model = cls(config)
        assert paper_cost.params(shape, head) == sum(p.numel() for p in model.parameters()), head


def test_steps_match_the_training_loop():
    training = pytest.importorskip("miniature.training")
    for n, settings in [
        (132_000, {"epochs": 2, "batch_size": 32}),
        (25_000, {"epochs": 0.5, "batch_size": 32}),
        (100, {"steps": 7, "epochs": None, "batch_size": 8}),
    ]:
        assert paper_cost.steps(n, settings) == training.total_steps(
            n, settings["batch_size"], settings.get("steps"), settings.get("epochs")
        )


def test_fine_tuning_work_and_hours_scale_linearly_with_epochs(paper):
    twice = copy.deepcopy(paper)
    for task in ("qa", "sentiment"):
        twice["finetune"][task]["epochs"] = 2 * paper["finetune"][task]["epochs"]
    shape, mlm = paper_cost.SHAPES["base"], paper_cost.SHAPES["base"]
    one = paper_cost.stage_work(paper, "base", shape, mlm, paper_cost.SIZES)
    two = paper_cost.stage_work(twice, "base", shape, mlm, paper_cost.SIZES)
    rates = {"train": 1e11, "forward": 2e11, "faiss": 2e11}
    qa_one, qa_two = one["finetune_qa"], two["finetune_qa"]
    assert qa_two.flops == pytest.approx(2 * qa_one.flops, rel=1e-4)
    assert paper_cost.hours_on(qa_two, rates) == pytest.approx(2 * paper_cost.hours_on(qa_one, rates), rel=1e-4)
    assert paper_cost.gpu_hours(qa_two, 989e12) == pytest.approx(2 * paper_cost.gpu_hours(qa_one, 989e12), rel=1e-4)
    # Stages without training do not depend on the epochs.
    assert two["predict"].flops == one["predict"].flops and two["attack"].flops == one["attack"].flops
    # BERT-large on SQuAD 2.0 train, 2 epochs, every window padded to 384: design.md's ~2e17 FLOP.
    padded = paper_cost.stage_work(paper, "large", paper_cost.SHAPES["large"], mlm, paper_cost.SIZES, padded=True)
    assert 1.8e17 < padded["finetune_qa"].flops < 2.4e17


def test_gpu_hours_have_a_launch_floor_and_faiss_stays_on_the_cpu():
    work = paper_cost.Work(flops=1e12, kind="forward", layer_calls=1000 * 2)  # 1,000 forward calls of 2 layers
    assert paper_cost.gpu_hours(work, 1e15) * 3600 == pytest.approx(1000 * 2 * paper_cost.GPU_LAUNCH_SECONDS_PER_LAYER)
    big = paper_cost.Work(flops=1e18, kind="train", layer_calls=1000 * 2, host_seconds=60)
    assert paper_cost.gpu_hours(big, 1e15, mfu=0.5) * 3600 == pytest.approx(1e18 / 5e14 + 60)
    assert paper_cost.gpu_hours(paper_cost.Work(1e12, "faiss"), 1e15) == 0.0


def test_schedules():
    durations = {
        ("a", "finetune_qa"): 4.0,
        ("a", "predict"): 1.0,
        ("a", "embed"): 2.0,
        ("a", "neighbours+ood"): 0.5,
        ("b", "finetune_qa"): 3.0,
        ("b", "finetune_sentiment"): 1.0,
        ("b", "attack"): 1.0,
    }
    on_gpu = {job: job[1] != "neighbours+ood" for job in durations}
    assert paper_cost.critical_path(durations) == 6.5
    assert paper_cost.critical_chain(durations) == [("a", "finetune_qa"), ("a", "embed"), ("a", "neighbours+ood")]
    assert paper_cost.list_schedule(durations, on_gpu, gpus=8) == 6.5  # enough GPUs: the critical path
    one = paper_cost.list_schedule(durations, on_gpu, gpus=1)
    assert one == pytest.approx(sum(v for j, v in durations.items() if on_gpu[j]) + 0.0)  # one GPU: all in a row
