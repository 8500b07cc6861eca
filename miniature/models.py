"""Models: getting them (hub, local path, or built offline), saving and loading them safely.

Every model the workflow compares is first materialised as a ``save_pretrained`` folder
(safetensors weights + tokenizer) of an ``AutoModelForPreTraining`` checkpoint, so that
the masked-LM head stays available (the attack uses it) and every later stage loads all
models the same way. Loading never runs repository code and never unpickles weights.

The ``pretrain`` build recipe makes the demo's models from scratch (masked-LM + next-sentence
prediction, like BERT and Google's small BERTs); compressed models (distillation, layer
dropping, pruning, int8) are made from them by :mod:`miniature.compress`.
"""

from __future__ import annotations

import collections
import hashlib
import heapq
import json
import logging
import random
import re
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from transformers import (AutoConfig, AutoModelForMaskedLM, AutoModelForPreTraining, AutoTokenizer, BertConfig,
                          BertForPreTraining, BertTokenizerFast, DataCollatorForLanguageModeling)

from miniature import data
from miniature.inputs import PICKLE_WEIGHTS, ModelError, check_model_dir, damaged, package_folder
from miniature.training import discard_checkpoint, fingerprint_of, train

log = logging.getLogger(__name__)

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


# --- loading and saving ----------------------------------------------------------------------


COMPRESSION_FILE = "compression.json"  # the recipe of a model made by miniature.compress
# The weights a fetched model did not come with (its pre-training heads, newly initialised):
# an untrained masked-LM head would make the attack propose random words.
NEW_WEIGHTS_FILE = "new_weights.json"


def compression_recipe(path: str | Path) -> dict | None:
    """The compression recipe a model folder was made with, or None."""
    recipe = Path(path) / COMPRESSION_FILE
    return json.loads(recipe.read_text()) if recipe.is_file() else None


def load_model(model_class, path: str | Path, **kwargs):
    """``model_class.from_pretrained`` on a local folder: safetensors only, no remote code.

    An int8 folder (see :mod:`miniature.compress`) is rebuilt from its int8 tensors.
    """
    check_model_dir(path)
    try:
        if (compression_recipe(path) or {}).get("method") == "dynamic_int8":
            from miniature.compress import load_int8

            return load_int8(model_class, path)
        return model_class.from_pretrained(str(path), use_safetensors=True, trust_remote_code=False, **kwargs)
    except SafetensorError as e:  # truncated or overwritten weights
        weights = weights_file(path)
        raise ModelError(damaged(weights if weights.is_file() else path, f"unreadable safetensors: {e}",
                                 remove=path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelError(damaged(Path(path) / COMPRESSION_FILE, f"not valid JSON: {e}", remove=path)) from None
    except (OSError, EOFError) as e:
        raise ModelError(damaged(path, f"{type(e).__name__}: {e}", remove=path)) from None


# Files one of which every tokenizer folder has (fast, WordPiece, SentencePiece, BPE).
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "spiece.model", "sentencepiece.bpe.model", "vocab.json")


def load_tokenizer(path: str | Path):
    """The tokenizer saved in a model folder; a missing or unreadable one is an error that
    names the folder (and what to delete), not a traceback from inside transformers."""
    if not any((Path(path) / name).is_file() for name in TOKENIZER_FILES):
        raise ModelError(damaged(path, f"no tokenizer: none of {', '.join(TOKENIZER_FILES)}", remove=path))
    try:
        return AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)
    except Exception as e:  # noqa: BLE001 -- transformers raises anything from TypeError to OSError here
        raise ModelError(damaged(path, f"its tokenizer cannot be loaded: {type(e).__name__}: {e}",
                                 remove=path)) from None


def save_model(model, tokenizer, path: str | Path, json_files: dict | None = None) -> None:
    """Save model (safetensors) and tokenizer, plus ``{name: object}`` JSON files, as one folder,
    renamed into place only when complete."""
    with data.atomic_dir(path) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        for name, obj in (json_files or {}).items():
            data.write_json(obj, tmp / name)


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


SAFE_WEIGHTS = "model.safetensors"


def weights_file(folder: str | Path) -> Path:
    """The weights file a config's ``sha256`` names: ``model.safetensors``, or, in a folder that
    holds only pickle weights, the ``pytorch_model.bin`` that fetching converts (the file the
    user got and can hash; the converted file's bytes depend on the safetensors writer)."""
    folder = Path(folder)
    if not (folder / SAFE_WEIGHTS).is_file() and (folder / PICKLE_WEIGHTS).is_file():
        return folder / PICKLE_WEIGHTS
    return folder / SAFE_WEIGHTS


def _check_sha256(weights: Path, actual: str, expected: str) -> None:
    if actual != expected:
        raise ModelError(f"{weights}: sha256 {actual} does not match the expected {expected}; "
                         "these are not the weights the config names, refusing to use them")


def verify_weights(folder: str | Path, sha256: str) -> None:
    """Stop unless the folder's weights file (see :func:`weights_file`) has exactly the expected sha256."""
    weights = weights_file(folder)
    if not weights.is_file():
        raise ModelError(f"{weights}: not found, so its sha256 cannot be checked")
    _check_sha256(weights, sha256_of(weights), sha256)


# --- pickle-only checkpoints: converted once, at fetch time, with torch's restricted unpickler ---

# Where a converted model records the pickle it came from (file name, sha256, source).
CONVERTED_FILE = "converted_from.json"


def local_pickle_weights(folder: str | Path) -> Path | None:
    """The folder's ``pytorch_model.bin`` when that is its only weights file (to be converted), else None."""
    weights = weights_file(folder)
    return weights if weights.name == PICKLE_WEIGHTS and weights.is_file() else None


def hub_pickle_weights(repo_id: str, revision: str) -> Path | None:
    """The local copy of a hub repo's ``pytorch_model.bin`` when the repo (at ``revision``) has no
    ``model.safetensors``, else None (safetensors present, or neither file: the ordinary path).

    ``model.safetensors`` is tried first, so a repo that has it is never unpickled. Both calls
    go through ``hf_hub_download``, so they work against the hub, a mirror (``HF_ENDPOINT``)
    and a hub cache with ``HF_HUB_OFFLINE=1`` (where an uncached file raises
    ``LocalEntryNotFoundError``, a subclass of ``EntryNotFoundError``).
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        hf_hub_download(repo_id, SAFE_WEIGHTS, revision=revision)
        return None
    except EntryNotFoundError:
        pass
    try:
        return Path(hf_hub_download(repo_id, PICKLE_WEIGHTS, revision=revision))
    except EntryNotFoundError:
        return None


def read_pickle_weights(pickle_file: str | Path) -> tuple[dict[str, torch.Tensor], str]:
    """A ``pytorch_model.bin`` state dict and the sha256 of exactly the bytes it was read from.

    ``torch.load(weights_only=True)`` is torch's restricted unpickler: it builds tensors and
    plain containers only and refuses any other global, so a pickle that would run code is
    refused before any of it runs (an explicit ``weights_only=True`` cannot be overridden by
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``). The file is read once into memory, so the hash
    and the weights cannot come from two different versions of it.
    """
    import io

    pickle_file = Path(pickle_file)
    raw = pickle_file.read_bytes()
    try:
        state = torch.load(io.BytesIO(raw), weights_only=True, map_location="cpu")
    except Exception as error:  # pickle.UnpicklingError for what it refuses; anything for a damaged file
        raise ModelError(f"{pickle_file}: refused, torch's restricted unpickler (tensors and plain containers "
                         f"only) cannot read it, and nothing in it was run ({_unpickler_reason(error)})") from None
    if not isinstance(state, dict) or not state or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise ModelError(f"{pickle_file}: not a state dict (a mapping of parameter names to tensors)")
    return state, hashlib.sha256(raw).hexdigest()


def _unpickler_reason(error: Exception) -> str:
    """The line of torch's long weights-only error that says what the pickle asked for
    (e.g. ``Unsupported global: GLOBAL os.system``), without its advice to load it unrestricted;
    any other error (a damaged file) as it is."""
    _, found, rest = str(error).partition("WeightsUnpickler error:")
    if not found:
        return f"{type(error).__name__}: {error}"
    reasons = [line.strip() for line in rest.splitlines() if line.strip()]
    return reasons[0].split(". ")[0] if reasons else "no reason given"


def write_safetensors(state: dict[str, torch.Tensor], path: str | Path) -> None:
    """Write a state dict as safetensors. Each tensor gets its own contiguous copy, because
    safetensors refuses tensors that share storage (tied embeddings, views); the ``pt`` format
    tag is what ``from_pretrained`` requires of a safetensors file."""
    from safetensors.torch import save_file

    save_file({k: v.detach().clone().contiguous() for k, v in state.items()}, str(path), metadata={"format": "pt"})


def convert_pickle_folder(pickle_file: str | Path, config, tokenizer, folder: str | Path, source: str,
                          sha256: str | None = None) -> dict:
    """Make ``folder`` a safetensors copy of a pickle-only checkpoint (config, tokenizer,
    ``model.safetensors``), so the model then loads through the one safetensors-only path;
    returns the record of the conversion (file, sha256, source) for :data:`CONVERTED_FILE`.
    ``sha256``: the expected hash of the pickle, checked on the bytes that are converted."""
    state, digest = read_pickle_weights(pickle_file)
    if sha256 is not None:
        _check_sha256(Path(pickle_file), digest, sha256)
    folder = Path(folder)
    write_safetensors(state, folder / SAFE_WEIGHTS)
    config.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    log.info("%s: converted %s (sha256 %s) to safetensors", source, PICKLE_WEIGHTS, digest)
    return {"file": PICKLE_WEIGHTS, "sha256": digest, "source": source}


def fetch_model(out_dir: str | Path, hub: dict | None = None, path: str | None = None, package: dict | None = None,
                sha256: str | None = None, seed: int = 0) -> None:
    """Materialise a hub model (pinned revision), a local folder or a folder shipped in an
    installed package as a pre-training checkpoint.

    A source without pre-training heads (e.g. a sentence-transformers ``BertModel``) gets
    new, seeded heads; fine-tuning replaces them with a task head anyway.

    A source whose only weights are ``pytorch_model.bin`` (e.g. Google's small BERTs) is
    converted to safetensors in a temporary folder first (:func:`convert_pickle_folder`), and
    the output records the pickle's sha256 in :data:`CONVERTED_FILE`; ``sha256`` then names
    the pickle (see :func:`weights_file`).
    """
    if hub is not None:
        source, extra = hub["id"], {"revision": hub["revision"]}
        described = f"{hub['id']}@{hub['revision']}"
    else:
        source, extra = str(path if path is not None else package_folder(**package)), {}
        described = source
        check_model_dir(source, convertible=True)
        if sha256 is not None:
            verify_weights(source, sha256)
            log.info("%s: sha256 %s as expected", weights_file(source), sha256)
    config = AutoConfig.from_pretrained(source, trust_remote_code=False, **extra)
    if getattr(config, "auto_map", None):
        raise ModelError(f"{source}: its config asks for custom code (auto_map); miniature never runs remote code")
    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False, **extra)
    pickle_file = hub_pickle_weights(source, **extra) if hub is not None else local_pickle_weights(source)
    json_files = {}
    with tempfile.TemporaryDirectory(prefix="miniature-converted-") as converted:
        if pickle_file is not None:
            json_files[CONVERTED_FILE] = convert_pickle_folder(pickle_file, config, tokenizer, converted,
                                                               described, sha256)
            source, extra = converted, {}
        torch.manual_seed(seed)
        model, info = AutoModelForPreTraining.from_pretrained(source, use_safetensors=True, trust_remote_code=False,
                                                              output_loading_info=True, **extra)
        new = sorted(info["missing_keys"])
        if new:
            log.info("%s has no pre-training heads; new ones: %s", described, ", ".join(new))
            json_files[NEW_WEIGHTS_FILE] = new
        save_model(model, tokenizer, out_dir, json_files=json_files or None)  # before the converted file goes


def load_masked_lm(path: str | Path):
    """A model with its masked-LM head, refused when that head was newly initialised when the
    model was fetched (a sentence encoder's weights, say): it was never trained to fill in words."""
    recorded = Path(path) / NEW_WEIGHTS_FILE
    new = json.loads(recorded.read_text()) if recorded.is_file() else []
    untrained = [k for k in new if k.startswith("cls.predictions")]
    if untrained:
        raise ModelError(f"{path}: its masked-LM head was not in the weights it was fetched from "
                         f"({', '.join(untrained)} are untrained); the attack needs a model pre-trained "
                         "with masked-LM (set attack.masked_lm to one)")
    return load_model(AutoModelForMaskedLM, path)


def weights_summary(folder: str | Path) -> dict:
    """Parameters (int8 scales and zero points not counted), non-zero parameters and bytes of
    a model folder's safetensors files, read from the files without building the model."""
    from safetensors import safe_open

    parameters = nonzero = size = 0
    for file in sorted(Path(folder).glob("*.safetensors")):
        size += file.stat().st_size
        with safe_open(str(file), framework="pt") as f:
            for key in f.keys():
                if key.endswith((".weight.scale", ".weight.zero_point")):
                    continue
                tensor = f.get_tensor(key)
                parameters += tensor.numel()
                nonzero += int(torch.count_nonzero(tensor))
    return {"parameters": parameters, "nonzero_parameters": nonzero, "size_bytes": size}


def describe_model(folder: str | Path) -> dict:
    """Size and shape of a saved model: ``weights_summary`` plus its layers and hidden size."""
    config = AutoConfig.from_pretrained(str(folder), trust_remote_code=False)
    return {**weights_summary(folder), "layers": config.num_hidden_layers, "hidden": config.hidden_size}


def parameter_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --- the demo's tokenizer and corpus ---------------------------------------------------------


def wordpiece_vocabulary(word_counts: dict[str, int], vocab_size: int, special_tokens: list[str],
                         prefix: str = "##") -> list[str]:
    """A WordPiece vocabulary, learnt the way ``tokenizers``' WordPieceTrainer learns one, but
    the same on every run.

    Words are spelled as their first character followed by ``prefix``-ed continuation
    characters; the most frequent adjacent pair (weighted by word counts) is merged into a
    new token, again and again, until the vocabulary (special tokens, characters, then
    merged tokens, in that order) has ``vocab_size`` entries. The library's trainer breaks
    ties between equally frequent pairs by token ids that follow hash-map order, so it
    learns a different vocabulary on each run (huggingface/tokenizers#1794); here ties go
    to the alphabetically first pair.
    """
    words = sorted(word_counts)
    counts = [word_counts[w] for w in words]
    spelled = [[w[0], *(prefix + c for c in w[1:])] for w in words]
    vocabulary, known = [], set()

    def add(token: str) -> None:
        if token not in known:
            known.add(token)
            vocabulary.append(token)

    for token in [*special_tokens, *sorted({c for w in words for c in w}),
                  *sorted({t for s in spelled for t in s[1:]})]:
        add(token)
    pair_counts: dict[tuple[str, str], int] = collections.Counter()
    where: dict[tuple[str, str], set[int]] = collections.defaultdict(set)
    for i, symbols in enumerate(spelled):
        for pair in zip(symbols, symbols[1:]):
            pair_counts[pair] += counts[i]
            where[pair].add(i)
    heap = [(-n, pair) for pair, n in pair_counts.items()]
    heapq.heapify(heap)
    while len(vocabulary) < vocab_size and heap:
        negative_count, pair = heapq.heappop(heap)
        if -negative_count != pair_counts[pair]:  # a stale entry: the count changed since it was pushed
            if pair_counts[pair] > 0:
                heapq.heappush(heap, (-pair_counts[pair], pair))
            continue
        first, second = pair
        merged = first + second.removeprefix(prefix)
        add(merged)
        for i in sorted(where.pop(pair)):
            symbols, new = spelled[i], []
            for old_pair in zip(symbols, symbols[1:]):
                pair_counts[old_pair] -= counts[i]
            j = 0
            while j < len(symbols):
                if j + 1 < len(symbols) and symbols[j] == first and symbols[j + 1] == second:
                    new.append(merged)
                    j += 2
                else:
                    new.append(symbols[j])
                    j += 1
            spelled[i] = new
            for new_pair in zip(new, new[1:]):
                pair_counts[new_pair] += counts[i]
                where[new_pair].add(i)
                heapq.heappush(heap, (-pair_counts[new_pair], new_pair))
    return vocabulary


def train_tokenizer(documents: list[str], vocab_size: int, max_length: int) -> BertTokenizerFast:
    """A lower-casing WordPiece tokenizer trained on the documents, as a BERT tokenizer."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    word_counts = collections.Counter(word for document in documents
                                      for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(document)))
    vocabulary = wordpiece_vocabulary(word_counts, vocab_size, SPECIAL_TOKENS)
    tokenizer = Tokenizer(models.WordPiece({token: i for i, token in enumerate(vocabulary)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.WordPiece()
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return BertTokenizerFast(tokenizer_object=tokenizer, do_lower_case=True, model_max_length=max_length,
                             unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
                             mask_token="[MASK]")


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentence_pairs(documents: list[str], seed: int, pairs_per_document: int = 2) -> list[tuple[str, str, int]]:
    """(first part, second part, label) for next-sentence prediction: label 0 when the second
    part really follows the first in the document, 1 when it comes from another document."""
    rng = random.Random(f"pairs-{seed}")
    split = [_SENTENCE_END.split(d) for d in documents]
    split = [s for s in split if len(s) >= 2]
    pairs = []
    for sentences in split:
        for _ in range(pairs_per_document):
            cut = rng.randint(1, len(sentences) - 1)
            first = " ".join(sentences[:cut])
            if rng.random() < 0.5:
                pairs.append((first, " ".join(sentences[cut:]), 0))
            else:
                other = rng.choice(split)
                pairs.append((first, " ".join(other[rng.randint(1, len(other) - 1):]), 1))
    return pairs


def pretraining_examples(tokenizer, documents: list[str], max_length: int, seed: int) -> list[dict]:
    pairs = sentence_pairs(documents, seed)
    encoded = tokenizer([a for a, _, _ in pairs], [b for _, b, _ in pairs], truncation="longest_first",
                        max_length=max_length, return_special_tokens_mask=True)
    return [{"input_ids": encoded["input_ids"][i], "token_type_ids": encoded["token_type_ids"][i],
             "special_tokens_mask": encoded["special_tokens_mask"][i], "next_sentence_label": pairs[i][2]}
            for i in range(len(pairs))]


def _masking_collator(tokenizer):
    # transformers' collator: pads, masks 15 % of tokens (80 % [MASK], 10 % random, 10 % kept).
    return DataCollatorForLanguageModeling(tokenizer, mlm=True, mlm_probability=0.15, return_tensors="pt")


# --- build recipes ---------------------------------------------------------------------------


def new_bert(tokenizer, layers: int, hidden: int, heads: int, intermediate: int, max_length: int) -> BertForPreTraining:
    # No dropout: the demo trains on fresh generated text for a few epochs at most, where
    # dropout buys nothing, and on a CPU it costs a fifth of every training step.
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=intermediate,
                        max_position_embeddings=max_length, pad_token_id=tokenizer.pad_token_id,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return BertForPreTraining(config)


def _pretraining_outputs(model: BertForPreTraining, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Masked-LM logits of the masked positions only, and next-sentence logits.

    Computing vocabulary logits for the ~15 % masked tokens instead of all of them makes a
    small model's step about twice as fast.
    """
    sequence, pooled = model.bert(input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"],
                                  attention_mask=batch["attention_mask"], return_dict=False)[:2]
    masked = batch["labels"] != -100
    return model.cls.predictions(sequence[masked]), model.cls.seq_relationship(pooled), masked


def _pretraining_loss(model, batch) -> tuple[torch.Tensor, tuple]:
    mlm_logits, nsp_logits, masked = _pretraining_outputs(model, batch)
    loss = F.cross_entropy(mlm_logits, batch["labels"][masked]) + F.cross_entropy(nsp_logits, batch["next_sentence_label"])
    return loss, (mlm_logits, nsp_logits)


def pretrain(model: BertForPreTraining, tokenizer, examples: list[dict], steps: int, seed: int, **settings) -> list[float]:
    """Masked-LM + next-sentence pre-training (the latter gives [CLS] a sentence-level meaning)."""
    return train(model, examples, _masking_collator(tokenizer), lambda m, b: _pretraining_loss(m, b)[0],
                 steps=steps, seed=seed, **settings)


def distil(student: BertForPreTraining, teacher: BertForPreTraining, tokenizer, examples: list[dict], steps: int,
           seed: int, temperature: float = 2.0, **settings) -> list[float]:
    """Knowledge distillation: the student matches the teacher's softened masked-LM and
    next-sentence distributions (KL divergence, scaled by T^2) and also learns the true labels."""
    teacher.eval()

    def loss_fn(m, batch):
        hard_loss, (mlm_logits, nsp_logits) = _pretraining_loss(m, batch)
        with torch.no_grad():
            teacher_mlm, teacher_nsp, _ = _pretraining_outputs(teacher, batch)
        return (soft_kl(mlm_logits, teacher_mlm, temperature) + soft_kl(nsp_logits, teacher_nsp, temperature)
                + hard_loss)

    return train(student, examples, _masking_collator(tokenizer), loss_fn, steps=steps, seed=seed, **settings)


def soft_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    return F.kl_div(F.log_softmax(student_logits / temperature, dim=-1),
                    F.softmax(teacher_logits / temperature, dim=-1),
                    reduction="batchmean") * temperature**2


# --- stages: files in, files out (called by the workflow's scripts) --------------------------


def read_corpus(path: str | Path) -> list[str]:
    return [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def build_tokenizer(corpus: str | Path, out_dir: str | Path, vocab_size: int, max_length: int) -> None:
    tokenizer = train_tokenizer(read_corpus(corpus), vocab_size, max_length)
    with data.atomic_dir(out_dir) as tmp:
        tokenizer.save_pretrained(str(tmp))
    log.info("tokenizer with %d entries saved to %s", len(tokenizer), out_dir)


def _shape(recipe: dict) -> dict:
    return {k: recipe[k] for k in ("layers", "hidden", "heads", "intermediate")}


def pretraining_settings(settings: dict) -> dict:
    return {k: settings[k] for k in ("batch_size", "learning_rate", "warmup_ratio", "gradient_accumulation", "bf16")}


def build_pretrained(corpus, tokenizer_dir, out_dir, recipe: dict, settings: dict, seed: int,
                     checkpoint_dir=None, device: str = "cpu") -> None:
    """The ``pretrain`` recipe: a new BERT of the recipe's shape, pre-trained on the corpus
    (on ``device``; saved from the CPU)."""
    tokenizer = load_tokenizer(tokenizer_dir)
    examples = pretraining_examples(tokenizer, read_corpus(corpus), settings["max_length"], seed)
    torch.manual_seed(seed)
    model = new_bert(tokenizer, **_shape(recipe), max_length=settings["max_length"]).to(device)
    log.info("pre-training %s (%d parameters) on %d sentence pairs for %d steps",
             _shape(recipe), parameter_count(model), len(examples), recipe["steps"])
    pretrain(model, tokenizer, examples, recipe["steps"], seed, checkpoint_dir=checkpoint_dir,
             fingerprint=fingerprint_of([recipe, settings, seed], corpus, tokenizer_dir),
             **pretraining_settings(settings))
    save_model(model.to("cpu"), tokenizer, out_dir)
    discard_checkpoint(checkpoint_dir)
