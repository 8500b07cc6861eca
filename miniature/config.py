"""Configuration: schema validation with defaults, cross-field checks, and derived views.

The workflow calls :func:`validate_config` while it is parsed, so a bad config stops the
run before any job starts, with one message that names the offending field.
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import jsonschema
import yaml

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A configuration problem; the message names the field."""


def _with_defaults(validator_class):
    """A validator class that fills in ``default`` values of missing properties as it goes."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_Validator = _with_defaults(jsonschema.Draft202012Validator)


def load_schema() -> dict:
    # libyaml's loader where available: every Snakemake process (each cluster job runs two)
    # validates the config, and the pure-Python loader takes ~5x longer on the schema.
    with open(SCHEMA_PATH) as f:
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _field(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _message(error: jsonschema.ValidationError) -> str:
    where = _field(error.absolute_path)
    if "propertyNames" in error.schema_path:
        # The error is about a key itself; error.instance is the key.
        if error.validator == "pattern":
            return (f"{where}: key {error.instance!r} is not allowed: use lower-case letters, digits "
                    "and single underscores")
        if error.validator == "not":
            return f"{where}: key {error.instance!r} does not belong here ({error.schema.get('description')})"
        return f"{where}: key {error.instance!r} does not belong here (allowed: {', '.join(error.validator_value)})"
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"{where}: unknown key {', '.join(repr(u) for u in unknown)} (allowed: {allowed})"
    if error.validator == "required":
        return f"{where}: missing required field {error.message.split(' ')[0]}"
    if error.validator in ("oneOf", "anyOf", "minProperties", "maxProperties") and "description" in error.schema:
        return f"{where}: {error.schema['description']}"
    return f"{where}: {error.message}"


def validate_config(config: dict) -> dict:
    """Return a validated copy of ``config`` with defaults filled in, or raise ConfigError."""
    config = copy.deepcopy(dict(config))
    _drop_replaced_sources(config)
    errors = sorted(_Validator(load_schema()).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        raise ConfigError(f"config error: {_message(best)}")
    _check_references(config)
    _check_micro_batches(config)
    attack = config["attack"]
    attack.setdefault("masked_lm", config["reference"])
    attack.setdefault("seed", config["seed"])
    return config


def _drop_replaced_sources(config: dict) -> None:
    """Remove the data sources a later config file set to null (in place).

    Snakemake merges several ``--configfile`` files key by key, so a file that gives a split
    another source (e.g. ``test: {file: {...}}`` over a hub source) leaves the old source
    beside the new one; naming the old one with null (``test: {hub: null, file: {...}}``)
    removes it, and the split again has exactly one source.
    """
    data = config.get("data")
    for task in ("qa", "sentiment"):
        splits = data.get(task) if isinstance(data, dict) else None
        if not isinstance(splits, dict):
            continue
        for split, source in splits.items():
            if isinstance(source, dict):
                splits[split] = {kind: spec for kind, spec in source.items() if spec is not None}


def _check_references(config: dict) -> None:
    models = config["models"]
    if config["reference"] not in models:
        raise ConfigError(
            f"config error: reference: {config['reference']!r} is not one of the models ({', '.join(models)})")
    for key in models:
        parent = model_parent(config, key)
        if parent is not None and parent not in models:
            raise ConfigError(f"config error: models.{key}.compress: {parent!r} is not one of the models")
        seen = {key}
        while parent is not None:
            if parent in seen:
                raise ConfigError(f"config error: models.{key}.compress: models depend on each other in a cycle")
            seen.add(parent)
            parent = model_parent(config, parent)
    agreement = config.get("agreement", {})
    if agreement.get("seed_baseline") and agreement.get("baseline_seed") == config.get("seed"):
        raise ConfigError("config error: agreement.baseline_seed: must differ from seed "
                          f"({config.get('seed')}), or the seed baseline repeats the reference's fine-tuning")
    k_max = max([config["knn"]["k"], *config["knn"]["sweep"]])
    if k_max > config["ood"]["train_questions"]:
        raise ConfigError(f"config error: knn: K={k_max} is more than the {config['ood']['train_questions']} "
                          "training questions of ood.train_questions it is searched among")
    masked_lm = config["attack"].get("masked_lm")
    if isinstance(masked_lm, str) and masked_lm not in models:
        raise ConfigError(f"config error: attack.masked_lm: {masked_lm!r} is not one of the models "
                          f"({', '.join(models)}); give a model key or a source (hub or path)")
    for key, spec in models.items():
        if "sha256" in spec and model_source(config, key) not in ("path", "package"):
            raise ConfigError(f"config error: models.{key}.sha256: only path and package sources have a weights "
                              "file to check")
        recipe = spec.get("compress")
        if recipe is None:
            continue
        where = f"config error: models.{key}.compress"
        if recipe["method"] == "dynamic_int8" and recipe["stage"] != "finetuned":
            raise ConfigError(f"{where}.stage: an int8 model cannot be fine-tuned; dynamic_int8 needs stage: finetuned")
        parent_layers = known_layers(config, recipe["from"])
        if parent_layers is None:
            continue
        if recipe["method"] == "layer_drop" and max(recipe["keep"]) >= parent_layers:
            raise ConfigError(f"{where}.keep: {recipe['from']!r} has only {parent_layers} layers")
        if recipe["method"] == "distil" and "hidden" not in recipe and recipe["layers"] > parent_layers:
            raise ConfigError(f"{where}.layers: a student started from {recipe['from']!r}'s layers can have at most "
                              f"{parent_layers}")


def _check_micro_batches(config: dict) -> None:
    """Every batch splits into its ``gradient_accumulation`` equal micro-batches."""
    where = [("pretraining", config["pretraining"])]
    for task in config.get("finetune", {}):
        where += [(f"finetune.{task} of model {key!r}", finetune_settings(config, key, task)) for key in config["models"]]
    for field, settings in where:
        batch, parts = settings.get("batch_size"), settings.get("gradient_accumulation", 1)
        if batch is not None and batch % parts:
            raise ConfigError(f"config error: {field}: batch_size {batch} is not a multiple of "
                              f"gradient_accumulation {parts} (a batch is split into equal micro-batches)")


# --- derived views used by the rules ---------------------------------------------------------

SOURCES = ("hub", "path", "package", "build", "compress")


def model_source(config: dict, key: str) -> str:
    """``hub``, ``path``, ``package``, ``build`` or ``compress``."""
    return next(s for s in SOURCES if s in config["models"][key])


def model_parent(config: dict, key: str) -> str | None:
    """The model a compressed model is made from, if any."""
    return config["models"][key].get("compress", {}).get("from")


def known_layers(config: dict, key: str) -> int | None:
    """Encoder layers of a model the workflow builds, when the config alone tells."""
    spec = config["models"][key]
    if "build" in spec:
        return spec["build"]["layers"]
    recipe = spec.get("compress")
    if recipe is None:
        return None
    if recipe["method"] == "layer_drop":
        return len(recipe["keep"])
    if recipe["method"] == "distil":
        return recipe["layers"]
    return known_layers(config, recipe["from"])


def models_built_by(config: dict, recipe: str) -> list[str]:
    return [k for k, m in config["models"].items() if m.get("build", {}).get("recipe") == recipe]


def compressed_at(config: dict, stage: str) -> list[str]:
    """Keys of the models compressed at ``stage`` (``pretrained`` or ``finetuned``)."""
    return [k for k, m in config["models"].items() if m.get("compress", {}).get("stage") == stage]


def fine_tuned_by_workflow(config: dict) -> list[str]:
    """QA keys (:func:`qa_models`) that get fine-tuning jobs: all but the post-training compressions."""
    post_training = set(compressed_at(config, "finetuned"))
    return [k for k in qa_models(config) if k not in post_training]


def describe_source(config: dict, key: str) -> str:
    """A one-line description of where a model comes from (for results/models.csv)."""
    spec = config["models"][key]
    kind = model_source(config, key)
    if kind == "hub":
        return f"hub {spec['hub']['id']}@{spec['hub']['revision'][:7]}"
    if kind == "path":
        return f"path {spec['path']}"
    if kind == "package":
        return f"package {spec['package']['name']}=={spec['package']['version']}"
    recipe = dict(spec[kind])
    name = recipe.pop("recipe", None) or recipe.pop("method")
    if kind == "compress":
        name = f"{name} of {recipe.pop('from')} ({recipe.pop('stage')})"
    return " ".join([name, *(f"{k}={v}" for k, v in recipe.items())])


def model_pairs(config: dict) -> list[tuple[str, str]]:
    """Unordered pairs in table order: reference vs each other model, then the other pairs."""
    reference = config["reference"]
    others = [k for k in config["models"] if k != reference]
    return [(reference, o) for o in others] + list(itertools.combinations(others, 2))


def seed_baseline(config: dict) -> str | None:
    """The key of the seed baseline, if it is switched on: the reference fine-tuned for QA once
    more with ``agreement.baseline_seed``. It has a hyphen, which model keys cannot have, so it
    never clashes with one; it gets QA jobs (fine-tune, predict, errors) but no Table 2 row."""
    agreement = config.get("agreement", {})
    if not agreement.get("seed_baseline"):
        return None
    return f"{config['reference']}-seed{agreement['baseline_seed']}"


def qa_models(config: dict) -> list[str]:
    """Keys that are fine-tuned for QA: the models, then the seed baseline if it is on."""
    baseline = seed_baseline(config)
    return list(config["models"]) + ([baseline] if baseline else [])


def base_model(config: dict, key: str) -> str:
    """The configured model behind a QA key (the reference for the seed baseline)."""
    return config["reference"] if key == seed_baseline(config) else key


def finetune_seed(config: dict, key: str) -> int:
    """The fine-tuning seed of a QA key: ``seed``, or ``agreement.baseline_seed`` for the seed baseline."""
    return config["agreement"]["baseline_seed"] if key == seed_baseline(config) else config["seed"]


def finetune_settings(config: dict, key: str, task: str = "qa") -> dict:
    """Fine-tuning settings of one model (or the seed baseline, which shares the reference's):
    the shared ones with its own overrides on top.

    A post-training compression (stage finetuned) starts from its parent's settings, so its
    test windows are cut as its parent's training windows were.
    """
    key = base_model(config, key)
    spec = config["models"][key].get("compress", {})
    if spec.get("stage") == "finetuned":
        settings = finetune_settings(config, spec["from"], task)
    else:
        settings = dict(config.get("finetune", {}).get(task, {}))
    override = config["models"][key].get("finetune", {}).get(task, {})
    if "steps" in override or "epochs" in override:
        settings.pop("steps", None)
        settings.pop("epochs", None)
    settings.update(override)
    return settings


def attack_max_length(config: dict, key: str) -> int:
    """Tokens the attack lets the target (and the masked-LM) read: ``attack.max_length``, or
    the length the target's sentiment classifier was fine-tuned with."""
    return config["attack"].get("max_length") or finetune_settings(config, key, "sentiment")["max_length"]


def attack_settings(config: dict) -> dict:
    """The settings the attack of every target uses (what the attack job depends on)."""
    attack = config["attack"]
    return {k: attack[k] for k in ("candidates", "max_percent_words", "similarity_threshold", "batch_size", "bf16")}
