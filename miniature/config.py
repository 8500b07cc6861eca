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
    for check in CROSS_FIELD_CHECKS:
        check(config)
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


# --- cross-field checks: what must fit what (run by validate_config, before any job) ---------
#
# Each check raises ConfigError naming both fields and their values. Sizes known only from
# files on this machine (a local data file, a local model folder) are checked by
# miniature.inputs.check_inputs with the same functions (check_split_sizes, check_model_fit);
# sizes known only after a download are checked by the job, whose message names both fields.


def _fail(message: str):
    raise ConfigError(f"config error: {message}")


def _check_model_graph(config: dict) -> None:
    """The models' graph holds together: every model key named by another field (reference,
    compress.from, attack.masked_lm) is one of the models, and no chain of compressions
    leads back to where it started."""
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
    masked_lm = config["attack"].get("masked_lm")
    if isinstance(masked_lm, str) and masked_lm not in models:
        raise ConfigError(f"config error: attack.masked_lm: {masked_lm!r} is not one of the models "
                          f"({', '.join(models)}); give a model key or a source (hub or path)")


def _check_seeds(config: dict) -> None:
    agreement = config.get("agreement", {})
    if agreement.get("seed_baseline") and agreement.get("baseline_seed") == config.get("seed"):
        raise ConfigError("config error: agreement.baseline_seed: must differ from seed "
                          f"({config.get('seed')}), or the seed baseline repeats the reference's fine-tuning")


def _check_sources(config: dict) -> None:
    for key, spec in config["models"].items():
        if "sha256" in spec and model_source(config, key) not in ("path", "package"):
            raise ConfigError(f"config error: models.{key}.sha256: only path and package sources have a weights "
                              "file to check")
        recipe = spec.get("compress")
        if recipe is not None and recipe["method"] == "dynamic_int8" and recipe["stage"] != "finetuned":
            raise ConfigError(f"config error: models.{key}.compress.stage: an int8 model cannot be fine-tuned; "
                              "dynamic_int8 needs stage: finetuned")


def _check_shapes(config: dict) -> None:
    """A new model's (build recipe or distillation student with its own width) attention
    heads divide its width; heads and intermediate only come with a width."""
    for key, spec in config["models"].items():
        for kind in ("build", "compress"):
            shape = spec.get(kind)
            if shape is None:
                continue
            where = f"models.{key}.{kind}"
            if kind == "compress" and shape["method"] == "distil" and "hidden" not in shape:
                given = [f for f in ("heads", "intermediate") if f in shape]
                if given:
                    _fail(f"{where}.{given[0]}: {given[0]} {shape[given[0]]} needs hidden: without hidden the "
                          f"student keeps {shape['from']!r}'s own layers and their shape")
            if "hidden" in shape and "heads" in shape and shape["hidden"] % shape["heads"]:
                _fail(f"{where}: hidden {shape['hidden']} is not a multiple of heads {shape['heads']} "
                      "(each attention head gets hidden / heads dimensions)")


def _check_windows(config: dict) -> None:
    """A QA window of max_length tokens holds [CLS] question [SEP] context [SEP], and its context
    part must be longer than the doc_stride tokens it shares with the previous window."""
    for key in qa_models(config):
        settings = finetune_settings(config, key, "qa")
        length, stride = settings.get("max_length"), settings.get("doc_stride")
        if length is not None and stride is not None and stride >= length - SPECIAL_TOKENS - 1:
            _fail(f"finetune.qa of model {key!r}: doc_stride {stride} must be less than max_length {length} "
                  f"minus {SPECIAL_TOKENS + 1} ({SPECIAL_TOKENS} special tokens and a question of at least one token): "
                  "a window's context part must be longer than the doc_stride tokens it shares with the "
                  "previous window")


# [CLS] question [SEP] context [SEP]: the tokens of a QA window that are neither question nor context.
SPECIAL_TOKENS = 3


def _check_batches(config: dict) -> None:
    """Every batch splits into its ``gradient_accumulation`` equal micro-batches, and
    pre-training makes at least one batch of sentence pairs."""
    _check_micro_batches(config)
    pretraining = config["pretraining"]
    pretrains = models_built_by(config, "pretrain") or [
        k for k in compressed_at(config, "pretrained") if config["models"][k]["compress"]["method"] == "distil"]
    pairs = PAIRS_PER_DOCUMENT * pretraining["corpus_documents"]
    if pretrains and pretraining["batch_size"] > pairs:
        _fail(f"pretraining: batch_size {pretraining['batch_size']} is more than the at most {pairs} sentence "
              f"pairs of corpus_documents {pretraining['corpus_documents']} ({PAIRS_PER_DOCUMENT} per document), "
              f"which pre-training of {', '.join(pretrains)} needs at least one batch of")


# Sentence pairs miniature.pretraining.sentence_pairs makes of a document (at most).
PAIRS_PER_DOCUMENT = 2


def _check_micro_batches(config: dict) -> None:
    """Every batch splits into its ``gradient_accumulation`` equal micro-batches."""
    where = [("pretraining", config["pretraining"])]
    for task in config.get("finetune", {}):
        where += [(f"finetune.{task} of model {key!r}", finetune_settings(config, key, task))
                  for key in config["models"]]
    for field, settings in where:
        batch, parts = settings.get("batch_size"), settings.get("gradient_accumulation", 1)
        if batch is not None and batch % parts:
            raise ConfigError(f"config error: {field}: batch_size {batch} is not a multiple of "
                              f"gradient_accumulation {parts} (a batch is split into equal micro-batches)")


def _check_neighbours(config: dict) -> None:
    k_max = max([config["knn"]["k"], *config["knn"]["sweep"]])
    if k_max > config["ood"]["train_questions"]:
        raise ConfigError(f"config error: knn: K={k_max} is more than the {config['ood']['train_questions']} "
                          "training questions of ood.train_questions it is searched among")


def _check_articles(config: dict) -> None:
    """An article selection with a stop at or before its start selects nothing (or everything
    with exclude): a slip, not a split."""
    for split, source in config["data"]["qa"].items():
        for kind, spec in source.items():
            selection = spec.get("articles") if isinstance(spec, dict) else None
            if selection and "stop" in selection and selection["stop"] <= selection["start"]:
                _fail(f"data.qa.{split}.{kind}.articles: stop {selection['stop']} is not after start "
                      f"{selection['start']}, so the selection is empty")


def _check_config_split_sizes(config: dict) -> None:
    check_split_sizes(config, split_sizes_from_config(config))


def check_model_fit(config: dict, local: dict | None = None) -> None:
    """Layer indices and lengths against the models they index, where the model's shape is
    known: from the config (built models and their compressions) or, with ``local``
    (model key or ``attack.masked_lm`` -> {"layers", "positions", "where"}, from
    miniature.inputs), from a local folder's config.json."""
    local = local or {}
    for key, spec in config["models"].items():
        recipe = spec.get("compress")
        if recipe is None:
            continue
        where = f"config error: models.{key}.compress"
        parent_layers = known_layers(config, recipe["from"], local)
        if parent_layers is None:
            continue
        source = _shape_source(config, recipe["from"], local)
        if recipe["method"] == "layer_drop" and max(recipe["keep"]) >= parent_layers:
            raise ConfigError(f"{where}.keep: {recipe['from']!r} has only {parent_layers} layers{source} (indices "
                              f"0 to {parent_layers - 1}), but keep {recipe['keep']} names layer {max(recipe['keep'])}")
        if recipe["method"] == "distil" and "hidden" not in recipe and recipe["layers"] > parent_layers:
            raise ConfigError(f"{where}.layers: a student started from {recipe['from']!r}'s layers can have at most "
                              f"{parent_layers}{source}, not {recipe['layers']}")
    # Every length a model reads must fit its position embeddings.
    for key in qa_models(config):
        positions = known_positions(config, base_model(config, key), local)
        if positions is None:
            continue
        source = _positions_source(config, base_model(config, key), local)
        for task in ("qa", "sentiment") if "sentiment" in config["data"] else ("qa",):
            length = finetune_settings(config, key, task).get("max_length")
            if length is not None and length > positions:
                _fail(f"finetune.{task} of model {key!r}: max_length {length} is more than the "
                      f"{positions} positions of model {key!r}{source}")
        if "sentiment" in config["data"] and key in config["models"] and config["attack"].get("max_length"):
            length = config["attack"]["max_length"]
            if length > positions:
                _fail(f"attack.max_length: {length} is more than the {positions} positions of target {key!r}{source}")
    if "sentiment" not in config["data"]:
        return
    masked_lm = config["attack"].get("masked_lm", config["reference"])
    if isinstance(masked_lm, str):
        positions, source = known_positions(config, masked_lm, local), _positions_source(config, masked_lm, local)
        name = f"the attack masked-LM {masked_lm!r}"
    else:
        facts = local.get("attack.masked_lm", {})
        positions, source, name = facts.get("positions"), f" ({facts.get('where')})", "the attack masked-LM"
    if positions is None:
        return
    for key in config["models"]:
        length = attack_max_length(config, key)
        if length > positions:
            field = ("attack.max_length" if config["attack"].get("max_length")
                     else f"finetune.sentiment.max_length of model {key!r} (attack.max_length's default)")
            _fail(f"{field}: {length} is more than the {positions} positions of {name}{source}")


def _shape_source(config: dict, key: str, local: dict) -> str:
    root = _root_model(config, key)
    return f" ({local[root]['where']})" if root in local else ""


def _positions_source(config: dict, key: str, local: dict) -> str:
    root = _root_model(config, key)
    if root in local:
        return f" ({local[root]['where']})"
    return f" (pretraining.max_length, which {root!r} was built with)"


def _root_model(config: dict, key: str) -> str:
    while model_parent(config, key) is not None:
        key = model_parent(config, key)
    return key


def split_sizes_from_config(config: dict) -> dict:
    """The split sizes the config alone tells: those of generated splits,
    ``{(task, split): (size, where)}``."""
    sizes = {}
    for task, unit in (("qa", "questions"), ("sentiment", "reviews")):
        for split, source in config["data"].get(task, {}).items():
            if "generate" in source:
                sizes[(task, split)] = (source["generate"][unit], f"data.{task}.{split}.generate.{unit}")
    return sizes


def check_split_sizes(config: dict, sizes: dict, labels: dict | None = None) -> None:
    """Every count drawn from or searched in a split against the split's size, where known.

    ``sizes``: ``{(task, split): (size, where)}`` (where: the field or file it comes from);
    ``labels``: ``{split: (negatives, positives, where)}`` of sentiment splits.
    """
    def size(task, split):
        return sizes.get((task, split), (None, None))

    knn, ood = config.get("knn"), config.get("ood")
    if knn is not None:
        k_max = max([knn["k"], *knn["sweep"]])
        n, where = size("qa", "test")
        if n is not None and k_max > n - 1:
            _fail(f"knn: K={k_max} is more than the {n} test questions of {where} minus one (each test question's "
                  "nearest other test questions are searched)")
        n, where = size("qa", "train")
        if n is not None and ood is not None and k_max > min(n, ood["train_questions"]):
            _fail(f"knn: K={k_max} is more than the {n} training questions of {where} (ood.train_questions "
                  f"{ood['train_questions']} takes all of them), among which the OOD detector searches")
    attack = config.get("attack")
    n, where = size("sentiment", "test")
    if attack is not None and "sentiment" in config["data"]:
        wanted = attack["sample_size"]
        if n is not None and wanted > n:
            _fail(f"attack.sample_size: {wanted} is more than the {n} reviews of {where} it is drawn from")
        negatives, positives, where = (labels or {}).get("test", (None, None, None))
        if negatives is not None and (wanted // 2 > negatives or wanted - wanted // 2 > positives):
            _fail(f"attack.sample_size: a balanced sample of {wanted} needs {wanted // 2} negative and "
                  f"{wanted - wanted // 2} positive reviews; {where} has {negatives} and {positives}")
    n, where = size("sentiment", "train")
    if n is not None and "finetune" in config:
        post_training = compressed_at(config, "finetuned")
        for key in [k for k in config["models"] if k not in post_training]:
            batch = finetune_settings(config, key, "sentiment").get("batch_size")
            if batch is not None and batch > n:
                _fail(f"finetune.sentiment of model {key!r}: batch_size {batch} is more than the {n} reviews "
                      f"of {where} (training needs at least one batch)")


CROSS_FIELD_CHECKS = [_check_model_graph, _check_seeds, _check_sources, _check_shapes, _check_windows,
                      _check_batches, _check_neighbours, _check_articles, check_model_fit,
                      _check_config_split_sizes]


# --- derived views used by the rules ---------------------------------------------------------

SOURCES = ("hub", "path", "package", "build", "compress")


def model_source(config: dict, key: str) -> str:
    """``hub``, ``path``, ``package``, ``build`` or ``compress``."""
    return next(s for s in SOURCES if s in config["models"][key])


def model_parent(config: dict, key: str) -> str | None:
    """The model a compressed model is made from, if any."""
    return config["models"][key].get("compress", {}).get("from")


def known_layers(config: dict, key: str, local: dict | None = None) -> int | None:
    """Encoder layers of a model the workflow builds, when the config alone tells (or, with
    ``local`` from miniature.inputs.local_model_facts, a local folder's config.json)."""
    spec = config["models"][key]
    if "build" in spec:
        return spec["build"]["layers"]
    recipe = spec.get("compress")
    if recipe is None:
        return (local or {}).get(key, {}).get("layers")
    if recipe["method"] == "layer_drop":
        return len(recipe["keep"])
    if recipe["method"] == "distil":
        return recipe["layers"]
    return known_layers(config, recipe["from"], local)


def known_positions(config: dict, key: str, local: dict | None = None) -> int | None:
    """Position embeddings (the most tokens a model reads) of a model, where known: a built
    model has ``pretraining.max_length`` (miniature.pretraining.new_bert), a compression its
    parent's (a distilled student copies its teacher's config), a local folder what its
    config.json says (``local``)."""
    spec = config["models"][key]
    if "build" in spec:
        return config["pretraining"]["max_length"]
    if "compress" in spec:
        return known_positions(config, spec["compress"]["from"], local)
    return (local or {}).get(key, {}).get("positions")


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


def canonical(config: dict) -> dict:
    """``config`` with every mapping's keys in sorted order, recursively, except the order of
    the models (lists keep their order too).

    Snakemake decides whether a job's params changed by comparing their ``repr``, which for a
    dict includes its key order; every param is derived from this canonical config, so a
    config that means the same (its keys reordered, as a YAML dumper or a formatter does)
    gives the same params and reruns nothing. The order of ``models`` is kept: it is the
    order of the tables' rows (Table 2's pairs, Table 3, models.csv, agreement.csv) and of
    each pair's two models (model_pairs), so reordering the models does change outputs.
    Nothing else has a meaningful key order: the data splits are looked up by name.
    """

    def ordered(value):
        if isinstance(value, dict):
            return {key: ordered(value[key]) for key in sorted(value, key=str)}
        if isinstance(value, list):
            return [ordered(item) for item in value]
        return value

    result = ordered(config)
    if isinstance(config.get("models"), dict):
        result["models"] = {key: ordered(spec) for key, spec in config["models"].items()}
    return result


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
    return dict(sorted(settings.items()))  # one order for the same settings (they are job params)


def attack_max_length(config: dict, key: str) -> int:
    """Tokens the attack lets the target (and the masked-LM) read: ``attack.max_length``, or
    the length the target's sentiment classifier was fine-tuned with."""
    return config["attack"].get("max_length") or finetune_settings(config, key, "sentiment")["max_length"]


def attack_settings(config: dict) -> dict:
    """The settings the attack of every target uses (what the attack job depends on)."""
    attack = config["attack"]
    return {k: attack[k] for k in ("candidates", "max_percent_words", "similarity_threshold", "batch_size", "bf16")}
