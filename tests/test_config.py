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
        ("wrong type", set_(["models", "large", "build", "layers"], "four"),
         "models.large.build.layers: 'four' is not of type 'integer'"),
        ("missing field", drop(["models", "large", "build", "steps"]),
         "models.large.build: missing required field 'steps'"),
        ("two sources", set_(["models", "large", "path"], "x"), "models.large: a model is given by exactly one source"),
        ("unknown parent", set_(["models", "distil", "compress", "from"], "nope"),
         "models.distil.compress: 'nope' is not one of the models"),
        ("one model only", lambda c: c.update(models={"large": c["models"]["large"]}), "at least two models"),
        ("missing test split", drop(["data", "qa", "test"]), "data.qa: missing required field 'test'"),
        ("unpinned hub revision", set_(["models", "hubby"], {"hub": {"id": "bert-base-uncased", "revision": "main"}}),
         "models.hubby.hub.revision: 'main' does not match"),
        ("steps and epochs", set_(["finetune", "qa", "epochs"], 2), "finetune.qa: training length"),
        ("keep more layers than exist", set_(["models", "truncated", "compress", "keep"], [0, 9]),
         "models.truncated.compress.keep: 'large' has only 3 layers"),
        ("student deeper than its parent",
         set_(["models", "s"], {"compress": {"from": "large", "method": "distil", "layers": 4, "steps": 5}}),
         "models.s.compress.layers: a student started from 'large''s layers can have at most 3"),
        ("int8 then fine-tuned",
         set_(["models", "int8"], {"compress": {"from": "large", "method": "dynamic_int8", "stage": "pretrained"}}),
         "models.int8.compress.stage: an int8 model cannot be fine-tuned"),
        ("prune without sparsity",
         set_(["models", "pruned"], {"compress": {"from": "large", "method": "magnitude_prune"}}),
         "models.pruned.compress: missing required field 'sparsity'"),
        ("setting of another method",
         set_(["models", "int8"], {"compress": {"from": "large", "method": "dynamic_int8", "keep": [0]}}),
         "models.int8.compress: key 'keep' does not belong here"),
        ("unknown method", set_(["models", "int8"], {"compress": {"from": "large", "method": "int4"}}),
         "models.int8.compress.method: 'int4' is not one of"),
        ("checksum of a built model", set_(["models", "large", "sha256"], "0" * 64),
         "models.large.sha256: only path and package sources"),
        ("package without version", set_(["models", "pkg"], {"package": {"name": "x", "folder": "m"}}),
         "models.pkg.package: missing required field 'version'"),
        ("doc_stride for sentiment", set_(["finetune", "sentiment", "doc_stride"], 32),
         "finetune.sentiment: key 'doc_stride' does not belong here"),
        ("attack masked-LM not a model", set_(["attack", "masked_lm"], "bert"),
         "attack.masked_lm: 'bert' is not one of the models"),
        ("unknown attack setting", set_(["attack", "k"], 3), "attack: unknown key 'k'"),
        ("no QA data", drop(["data", "qa"]), "data: missing required field 'qa'"),
        ("seed baseline with the same seed", set_(["agreement", "baseline_seed"], 0),
         "agreement.baseline_seed: must differ from seed"),
        ("too few resamples", set_(["agreement", "bootstrap_resamples"], 10),
         "agreement.bootstrap_resamples: 10 is less than the minimum of 100"),
        ("missing challenge split", drop(["data", "qa", "challenge"]), "data.qa: missing required field 'challenge'"),
        ("K of zero", set_(["knn", "sweep"], [0, 5]), "knn.sweep.0: 0 is less than the minimum of 1"),
        ("K above the OOD training features", set_(["ood", "train_questions"], 20),
         "knn: K=50 is more than the 20 training questions"),
        ("micro-batches that do not divide the batch", set_(["finetune", "qa", "gradient_accumulation"], 3),
         "finetune.qa of model 'large': batch_size 32 is not a multiple of gradient_accumulation 3"),
        ("a model's own batch that does not split",
         set_(["models", "small", "finetune"], {"sentiment": {"batch_size": 10, "gradient_accumulation": 4}}),
         "finetune.sentiment of model 'small': batch_size 10 is not a multiple of gradient_accumulation 4"),
        # --- cross-field checks: sizes, counts and indices that must fit one another ---
        ("window stride not smaller than the window", set_(["finetune", "qa", "doc_stride"], 96),
         "finetune.qa of model 'large': doc_stride 96 must be less than max_length 96 minus 4"),
        ("window stride leaving no room for a question", set_(["finetune", "qa", "doc_stride"], 92),
         "finetune.qa of model 'large': doc_stride 92 must be less than max_length 96 minus 4 (3 special tokens "
         "and a question of at least one token)"),
        ("a model's own window shorter than the shared stride",
         set_(["models", "small", "finetune"], {"qa": {"max_length": 32}}),
         "finetune.qa of model 'small': doc_stride 32 must be less than max_length 32 minus 4"),
        ("attack sample larger than the generated test split", set_(["attack", "sample_size"], 501),
         "attack.sample_size: 501 is more than the 500 reviews of data.sentiment.test.generate.reviews "
         "it is drawn from"),
        ("K above the test questions it is searched among", set_(["data", "qa", "test", "generate", "questions"], 50),
         "knn: K=50 is more than the 50 test questions of data.qa.test.generate.questions minus one"),
        ("K above the training questions of the OOD detector",
         set_(["data", "qa", "train", "generate", "questions"], 40),
         "knn: K=50 is more than the 40 training questions of data.qa.train.generate.questions (ood.train_questions "
         "2000 takes all of them)"),
        ("heads that do not divide a built model's width", set_(["models", "small", "build", "heads"], 3),
         "models.small.build: hidden 64 is not a multiple of heads 3"),
        ("heads that do not divide a student's width", set_(["models", "distil", "compress", "heads"], 5),
         "models.distil.compress: hidden 64 is not a multiple of heads 5"),
        ("student heads without a width",
         set_(["models", "s"],
              {"compress": {"from": "large", "method": "distil", "layers": 2, "steps": 5, "heads": 2}}),
         "models.s.compress.heads: heads 2 needs hidden: without hidden the student keeps 'large''s own layers"),
        ("student intermediate without a width",
         set_(["models", "s"],
              {"compress": {"from": "large", "method": "distil", "layers": 2, "steps": 5, "intermediate": 64}}),
         "models.s.compress.intermediate: intermediate 64 needs hidden"),
        ("keep names a layer the parent lacks", set_(["models", "truncated", "compress", "keep"], [3]),
         "models.truncated.compress.keep: 'large' has only 3 layers (indices 0 to 2), but keep [3] names layer 3"),
        ("keep beyond a compressed parent's layers",
         set_(["models", "t2"], {"compress": {"from": "truncated", "method": "layer_drop", "keep": [0, 2]}}),
         "models.t2.compress.keep: 'truncated' has only 2 layers"),
        ("pre-training batch larger than the corpus's sentence pairs", set_(["pretraining", "corpus_documents"], 10),
         "pretraining: batch_size 32 is more than the at most 20 sentence pairs of corpus_documents 10"),
        ("sentiment batch larger than the training reviews",
         set_(["data", "sentiment", "train", "generate", "reviews"], 20),
         "finetune.sentiment of model 'large': batch_size 32 is more than the 20 reviews of "
         "data.sentiment.train.generate.reviews"),
        ("QA window longer than a built model's positions", set_(["finetune", "qa", "max_length"], 160),
         "finetune.qa of model 'large': max_length 160 is more than the 128 positions of model 'large' "
         "(pretraining.max_length, which 'large' was built with)"),
        ("pre-training shorter than the windows of a compression", set_(["pretraining", "max_length"], 64),
         "finetune.qa of model 'large': max_length 96 is more than the 64 positions"),
        ("a model's own sentiment length beyond its positions",
         set_(["models", "distil", "finetune"], {"sentiment": {"max_length": 256}}),
         "finetune.sentiment of model 'distil': max_length 256 is more than the 128 positions of model 'distil' "
         "(pretraining.max_length, which 'large' was built with)"),
        ("attack length beyond the targets' positions", set_(["attack", "max_length"], 200),
         "attack.max_length: 200 is more than the 128 positions of target 'large'"),
        ("empty article selection",
         set_(["data", "qa", "challenge"], {"file": {"path": "x.json", "articles": {"start": 4, "stop": 4}}}),
         "data.qa.challenge.file.articles: stop 4 is not after start 4, so the selection is empty"),
    ]


@pytest.mark.parametrize("name, mutate, message", _mutations(), ids=[m[0] for m in _mutations()])
def test_bad_config_names_the_field(demo, name, mutate, message):
    bad = copy.deepcopy(demo)
    mutate(bad)
    with pytest.raises(cfg.ConfigError, match="^config error: ") as raised:
        cfg.validate_config(bad)
    assert message in str(raised.value)


@pytest.fixture
def compressions(demo):
    """The demo with two post-training compressions of the reference added."""
    demo["models"]["int8"] = {"compress": {"from": "large", "method": "dynamic_int8", "stage": "finetuned"}}
    demo["models"]["pruned"] = {"compress": {"from": "large", "method": "magnitude_prune", "sparsity": 0.5}}
    return demo


def test_pairs_put_reference_first_then_config_order(compressions):
    pairs = cfg.model_pairs(cfg.validate_config(compressions))
    others = ["truncated", "distil", "small", "int8", "pruned"]
    assert pairs[:5] == [("large", o) for o in others]
    assert pairs[5:9] == [
        ("truncated", "distil"), ("truncated", "small"), ("truncated", "int8"), ("truncated", "pruned")
    ]
    assert len(pairs) == 15 and pairs[-1] == ("int8", "pruned")


def test_per_model_finetune_override(demo):
    demo["models"]["small"]["finetune"] = {"qa": {"learning_rate": 5e-4, "epochs": 1}}
    validated = cfg.validate_config(demo)
    small = cfg.finetune_settings(validated, "small")
    assert small["learning_rate"] == 5e-4 and small["epochs"] == 1 and "steps" not in small
    assert cfg.finetune_settings(validated, "large")["learning_rate"] == demo["finetune"]["qa"]["learning_rate"]


def test_compressed_models_and_their_stages(compressions):
    validated = cfg.validate_config(compressions)
    assert validated["models"]["int8"]["compress"]["stage"] == "finetuned"
    assert cfg.compressed_at(validated, "finetuned") == ["int8", "pruned"]
    assert cfg.compressed_at(validated, "pretrained") == ["truncated", "distil"]
    assert cfg.fine_tuned_by_workflow(validated) == ["large", "truncated", "distil", "small", "large-seed1"]
    assert cfg.model_parent(validated, "int8") == "large" and cfg.model_parent(validated, "large") is None
    assert cfg.known_layers(validated, "truncated") == 2 and cfg.known_layers(validated, "int8") == 3
    assert cfg.describe_source(validated, "pruned") == "magnitude_prune of large (finetuned) sparsity=0.5"
    assert cfg.describe_source(validated, "small").startswith("pretrain layers=1 hidden=64")


def test_compression_cycle_is_refused(compressions):
    compressions["models"]["large"] = {"compress": {"from": "int8", "method": "layer_drop", "keep": [0]}}
    with pytest.raises(cfg.ConfigError, match="in a cycle"):
        cfg.validate_config(compressions)


def test_post_training_compression_inherits_its_parents_settings(compressions):
    compressions["models"]["large"]["finetune"] = {"qa": {"max_length": 64}}
    compressions["models"]["int8"]["finetune"] = {"qa": {"batch_size": 8}}
    validated = cfg.validate_config(compressions)
    assert cfg.finetune_settings(validated, "int8")["max_length"] == 64  # cut like large's windows
    assert cfg.finetune_settings(validated, "int8")["batch_size"] == 8
    assert cfg.finetune_settings(validated, "truncated")["max_length"] == compressions["finetune"]["qa"]["max_length"]


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
    demo["data"]["sentiment"]["test"] = {"generate": {"reviews": 1000}}  # enough for the default sample
    validated = cfg.validate_config(demo)
    attack = validated["attack"]
    assert attack["masked_lm"] == "large" and attack["seed"] == validated["seed"]  # the reference, the run's seed
    assert attack["candidates"] == 3  # the paper's K, not textattack 0.3.11's default of 8
    assert cfg.attack_settings(validated) == {"candidates": 3, "max_percent_words": 0.4,
                                              "similarity_threshold": 0.2, "batch_size": 64, "bf16": False}
    assert cfg.attack_max_length(validated, "large") == 128  # the classifier's own max_length
    assert cfg.attack_max_length(validated, "small") == 48
    validated["attack"]["max_length"] = 64
    assert cfg.attack_max_length(validated, "small") == 64


# --- data sources: what a user with only the repository and the hub can run ---


def test_shipped_configs_read_no_data_from_beside_the_repository():
    """A user has the repository and the hub, not ../shared: no shipped config names it."""
    for path in [ROOT / "config.yaml", *sorted((ROOT / "configs").glob("*.yaml"))]:
        assert "../shared" not in path.read_text(), path


def test_a_later_config_file_replaces_a_hub_source_by_a_local_file():
    """Snakemake merges --configfile files key by key (snakemake.utils.update_config): the
    override sets each hub source to null beside its file source, and validation drops it."""
    from snakemake.utils import update_config

    merged = yaml.safe_load((ROOT / "configs" / "minilm.yaml").read_text())
    shipped = copy.deepcopy(merged)
    update_config(merged, yaml.safe_load((ROOT / "workflow_tests" / "configs" / "minilm_local.yaml").read_text()))
    validated, hub = cfg.validate_config(merged), cfg.validate_config(shipped)
    for split, source in validated["data"]["qa"].items():
        assert list(source) == ["file"], split
        assert source["file"]["articles"] == hub["data"]["qa"][split]["hub"]["articles"]  # the same selection
    # Without the nulls the split would have two sources.
    merged["data"]["qa"]["test"]["hub"] = shipped["data"]["qa"]["test"]["hub"]
    with pytest.raises(cfg.ConfigError, match="data.qa.test: where one QA split comes from"):
        cfg.validate_config(merged)


@pytest.mark.parametrize("hub, message", [
    ({"files": "data/train.json"}, "data.qa.challenge.hub.files: 'data/train.json' does not match"),
    ({"files": "hf://datasets/x@main/a.parquet"}, "does not match"),
    ({"articles": {"step": 0}}, "data.qa.challenge.hub.articles.step: 0 is less than the minimum of 1"),
    ({"config": "default"}, "data.qa.challenge.hub: unknown key 'config'"),
])
def test_qa_hub_source_fields_are_checked(demo, hub, message):
    demo["data"]["qa"]["challenge"] = {"hub": {"id": "org/qa", "revision": "a" * 40, "split": "validation", **hub}}
    with pytest.raises(cfg.ConfigError, match="^config error: ") as raised:
        cfg.validate_config(demo)
    assert message in str(raised.value)


def test_qa_hub_source_with_files_and_articles_is_valid(demo):
    demo["data"]["qa"]["challenge"] = {"hub": {"id": "org/qa", "revision": "a" * 40, "split": "train",
                                               "files": "qa/train-*.parquet", "articles": {"step": 6}}}
    hub = cfg.validate_config(demo)["data"]["qa"]["challenge"]["hub"]
    assert hub["articles"] == {"start": 0, "step": 6, "exclude": False}
