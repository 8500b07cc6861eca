import copy
from pathlib import Path

import pytest
import yaml

from miniature import config as cfg

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def demo():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_shipped_configs_are_valid():
    for path in [ROOT / "config.yaml", *sorted((ROOT / "configs").glob("*.yaml"))]:
        cfg.validate_config(yaml.safe_load(path.read_text()))


def test_defaults_are_filled_in(demo):
    demo.pop("predict", None)
    validated = cfg.validate_config(demo)
    assert validated["predict"]["max_answer_length"] == 15
    assert validated["finetune"]["qa"]["checkpoint_every"] == 200
    demo.pop("knn")
    assert cfg.validate_config(demo)["knn"] == {"k": 10, "sweep": [5, 10, 20, 50, 100]}
    assert "predict" not in demo  # the caller's dict is left alone


def _mutations():
    def set_(path, value):
        def apply(c):
            node = c
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        return apply

    def drop(path):
        def apply(c):
            node = c
            for key in path[:-1]:
                node = node[key]
            del node[path[-1]]
        return apply

    return [
        ("unknown top-level key", set_(["modles"], {}), "unknown key 'modles'"),
        ("misspelled nested key", set_(["finetune", "qa", "lr"], 1e-3), "finetune.qa: unknown key 'lr'"),
        ("reference not a model", set_(["reference"], "huge"), "reference: 'huge' is not one of the models"),
        ("bad model key", set_(["models", "Big-Model"], {"path": "x"}), "models: key 'Big-Model' is not allowed"),
        ("double underscore key", set_(["models", "a__b"], {"path": "x"}), "models: key 'a__b' is not allowed"),
        ("wrong type", set_(["models", "large", "build", "layers"], "four"), "models.large.build.layers: 'four' is not of type 'integer'"),
        ("missing field", drop(["models", "large", "build", "steps"]), "models.large.build: missing required field 'steps'"),
        ("two sources", set_(["models", "large", "path"], "x"), "models.large: a model is given by exactly one source"),
        ("unknown teacher", set_(["models", "distil", "build", "teacher"], "nope"), "models.distil.build: 'nope' is not one of the models"),
        ("one model only", lambda c: c.update(models={"large": c["models"]["large"]}), "at least two models"),
        ("missing test split", drop(["data", "qa", "test"]), "data.qa: missing required field 'test'"),
        ("unpinned hub revision", set_(["models", "hubby"], {"hub": {"id": "bert-base-uncased", "revision": "main"}}),
         "models.hubby.hub.revision: 'main' does not match"),
        ("steps and epochs", set_(["finetune", "qa", "epochs"], 2), "finetune.qa: training length"),
        ("doc_stride for sentiment", set_(["finetune", "sentiment", "doc_stride"], 32),
         "finetune.sentiment: key 'doc_stride' does not belong here"),
        ("attack masked-LM not a model", set_(["attack", "masked_lm"], "bert"),
         "attack.masked_lm: 'bert' is not one of the models"),
        ("unknown attack setting", set_(["attack", "k"], 3), "attack: unknown key 'k'"),
        ("no sentiment data", drop(["data", "sentiment"]), "data: missing required field 'sentiment'"),
        ("keep more layers than exist", set_(["models", "truncated", "build", "keep_layers"], [0, 9]),
         "models.truncated.build.keep_layers"),
        ("seed baseline with the same seed", set_(["agreement", "baseline_seed"], 0),
         "agreement.baseline_seed: must differ from seed"),
        ("too few resamples", set_(["agreement", "bootstrap_resamples"], 10),
         "agreement.bootstrap_resamples: 10 is less than the minimum of 100"),
        ("missing challenge split", drop(["data", "qa", "challenge"]), "data.qa: missing required field 'challenge'"),
        ("K of zero", set_(["knn", "sweep"], [0, 5]), "knn.sweep.0: 0 is less than the minimum of 1"),
        ("K above the OOD training features", set_(["ood", "train_questions"], 20),
         "knn: K=50 is more than the 20 training questions"),
    ]


@pytest.mark.parametrize("name, mutate, message", _mutations(), ids=[m[0] for m in _mutations()])
def test_bad_config_names_the_field(demo, name, mutate, message):
    bad = copy.deepcopy(demo)
    mutate(bad)
    with pytest.raises(cfg.ConfigError, match="^config error: ") as raised:
        cfg.validate_config(bad)
    assert message in str(raised.value)


def test_pairs_put_reference_first_then_config_order(demo):
    pairs = cfg.model_pairs(cfg.validate_config(demo))
    assert pairs == [("large", "truncated"), ("large", "distil"), ("large", "small"),
                     ("truncated", "distil"), ("truncated", "small"), ("distil", "small")]


def test_per_model_finetune_override(demo):
    demo["models"]["small"]["finetune"] = {"qa": {"learning_rate": 5e-4, "epochs": 1}}
    validated = cfg.validate_config(demo)
    small = cfg.finetune_settings(validated, "small")
    assert small["learning_rate"] == 5e-4 and small["epochs"] == 1 and "steps" not in small
    assert cfg.finetune_settings(validated, "large")["learning_rate"] == demo["finetune"]["qa"]["learning_rate"]


def test_seed_baseline_is_a_derived_key_with_the_reference_settings_and_the_other_seed(demo):
    demo["models"]["large"]["finetune"] = {"qa": {"learning_rate": 2e-4}}
    validated = cfg.validate_config(demo)
    assert cfg.seed_baseline(validated) == "large-seed1"
    assert cfg.qa_models(validated) == ["large", "truncated", "distil", "small", "large-seed1"]
    assert cfg.base_model(validated, "large-seed1") == "large" and cfg.base_model(validated, "small") == "small"
    assert cfg.finetune_seed(validated, "large-seed1") == 1 and cfg.finetune_seed(validated, "large") == 0
    assert cfg.finetune_settings(validated, "large-seed1") == cfg.finetune_settings(validated, "large")
    assert cfg.finetune_settings(validated, "large-seed1")["learning_rate"] == 2e-4
    assert all("large-seed1" not in pair for pair in cfg.model_pairs(validated))  # not a row of Table 2

    demo["agreement"]["seed_baseline"] = False
    off = cfg.validate_config(demo)
    assert cfg.seed_baseline(off) is None and cfg.qa_models(off) == list(demo["models"])


def test_attack_defaults_and_lengths(demo):
    demo["models"]["small"]["finetune"] = {"sentiment": {"max_length": 48}}
    del demo["attack"]
    validated = cfg.validate_config(demo)
    attack = validated["attack"]
    assert attack["masked_lm"] == "large" and attack["seed"] == validated["seed"]  # the reference, the run's seed
    assert attack["candidates"] == 3  # the paper's K, not textattack 0.3.11's default of 8
    assert cfg.attack_settings(validated) == {"candidates": 3, "max_percent_words": 0.4,
                                              "similarity_threshold": 0.2, "batch_size": 64}
    assert cfg.attack_max_length(validated, "large") == 128  # the classifier's own max_length
    assert cfg.attack_max_length(validated, "small") == 48
    validated["attack"]["max_length"] = 64
    assert cfg.attack_max_length(validated, "small") == 64
