"""Models: getting them (hub, local path, or built offline), saving and loading them safely.

Every model the workflow compares is first materialised as a ``save_pretrained`` folder
(safetensors weights + tokenizer) of an ``AutoModelForPreTraining`` checkpoint, so that
the masked-LM head stays available (the attack uses it) and every later stage loads all
models the same way. Loading never runs repository code and never unpickles weights.

The build recipes make the demo's family the way real compressed models are made:
``pretrain`` (masked-LM + next-sentence prediction from scratch, like BERT and Google's
small BERTs), ``distil`` (a student trained to match a teacher's output distributions,
like DistilBERT) and ``truncate`` (keep some encoder layers, drop the rest).
"""

from __future__ import annotations

import collections
import copy
import heapq
import logging
import random
import re
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import (AutoConfig, AutoModelForPreTraining, AutoTokenizer, BertConfig, BertForPreTraining,
                          BertTokenizerFast, DataCollatorForLanguageModeling)

from miniature import data
from miniature.inputs import ModelError, check_model_dir
from miniature.training import discard_checkpoint, fingerprint_of, train

log = logging.getLogger(__name__)

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


# --- loading and saving ----------------------------------------------------------------------


def load_model(model_class, path: str | Path, **kwargs):
    """``model_class.from_pretrained`` on a local folder: safetensors only, no remote code."""
    check_model_dir(path)
    return model_class.from_pretrained(str(path), use_safetensors=True, trust_remote_code=False, **kwargs)


def load_tokenizer(path: str | Path):
    return AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)


def save_model(model, tokenizer, path: str | Path, json_files: dict | None = None) -> None:
    """Save model (safetensors) and tokenizer, plus ``{name: object}`` JSON files, as one folder,
    renamed into place only when complete."""
    with data.atomic_dir(path) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        for name, obj in (json_files or {}).items():
            data.write_json(obj, tmp / name)


def fetch_model(out_dir: str | Path, hub: dict | None = None, path: str | None = None) -> None:
    """Materialise a hub model (pinned revision) or a local folder as a pre-training checkpoint."""
    if path is not None:
        check_model_dir(path)
        source, extra = str(path), {}
    else:
        source, extra = hub["id"], {"revision": hub["revision"]}
    config = AutoConfig.from_pretrained(source, trust_remote_code=False, **extra)
    if getattr(config, "auto_map", None):
        raise ModelError(f"{source}: its config asks for custom code (auto_map); miniature never runs remote code")
    model = AutoModelForPreTraining.from_pretrained(source, use_safetensors=True, trust_remote_code=False, **extra)
    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False, **extra)
    save_model(model, tokenizer, out_dir)


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
        return (_soft_kl(mlm_logits, teacher_mlm, temperature) + _soft_kl(nsp_logits, teacher_nsp, temperature)
                + hard_loss)

    return train(student, examples, _masking_collator(tokenizer), loss_fn, steps=steps, seed=seed, **settings)


def _soft_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    return F.kl_div(F.log_softmax(student_logits / temperature, dim=-1),
                    F.softmax(teacher_logits / temperature, dim=-1),
                    reduction="batchmean") * temperature**2


def truncate(model, keep_layers: list[int]):
    """A copy of ``model`` with only the given encoder layers (in the given order)."""
    n_layers = model.config.num_hidden_layers
    if max(keep_layers) >= n_layers:
        raise ModelError(f"keep_layers {keep_layers}: the model has only {n_layers} layers")
    model = copy.deepcopy(model)
    encoder = model.base_model.encoder
    encoder.layer = torch.nn.ModuleList(encoder.layer[i] for i in keep_layers)
    model.config.num_hidden_layers = len(keep_layers)
    return model


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


def _train_settings(settings: dict) -> dict:
    return {k: settings[k] for k in ("batch_size", "learning_rate", "warmup_ratio")}


def build_pretrained(corpus, tokenizer_dir, out_dir, recipe: dict, settings: dict, seed: int,
                     checkpoint_dir=None) -> None:
    """The ``pretrain`` recipe: a new BERT of the recipe's shape, pre-trained on the corpus."""
    tokenizer = load_tokenizer(tokenizer_dir)
    examples = pretraining_examples(tokenizer, read_corpus(corpus), settings["max_length"], seed)
    torch.manual_seed(seed)
    model = new_bert(tokenizer, **_shape(recipe), max_length=settings["max_length"])
    log.info("pre-training %s (%d parameters) on %d sentence pairs for %d steps",
             _shape(recipe), parameter_count(model), len(examples), recipe["steps"])
    pretrain(model, tokenizer, examples, recipe["steps"], seed, checkpoint_dir=checkpoint_dir,
             fingerprint=fingerprint_of([recipe, settings, seed], corpus, tokenizer_dir),
             **_train_settings(settings))
    save_model(model, tokenizer, out_dir)
    discard_checkpoint(checkpoint_dir)


def build_distilled(corpus, tokenizer_dir, teacher_dir, out_dir, recipe: dict, settings: dict, seed: int,
                    checkpoint_dir=None) -> None:
    """The ``distil`` recipe: a new student of the recipe's shape, distilled from the teacher."""
    tokenizer = load_tokenizer(tokenizer_dir)
    teacher = load_model(BertForPreTraining, teacher_dir)
    examples = pretraining_examples(tokenizer, read_corpus(corpus), settings["max_length"], seed)
    torch.manual_seed(seed)
    student = new_bert(tokenizer, **_shape(recipe), max_length=settings["max_length"])
    log.info("distilling %s (%d parameters) from a teacher of %d parameters for %d steps",
             _shape(recipe), parameter_count(student), parameter_count(teacher), recipe["steps"])
    distil(student, teacher, tokenizer, examples, recipe["steps"], seed,
           temperature=recipe.get("temperature", 2.0), checkpoint_dir=checkpoint_dir,
           fingerprint=fingerprint_of([recipe, settings, seed], corpus, tokenizer_dir, teacher_dir),
           **_train_settings(settings))
    save_model(student, tokenizer, out_dir)
    discard_checkpoint(checkpoint_dir)


def build_truncated(parent_dir, out_dir, keep_layers: list[int]) -> None:
    """The ``truncate`` recipe: the parent with only ``keep_layers`` of its encoder layers."""
    parent = load_model(AutoModelForPreTraining, parent_dir)
    model = truncate(parent, keep_layers)
    log.info("kept layers %s of %d: %d -> %d parameters", keep_layers, parent.config.num_hidden_layers,
             parameter_count(parent), parameter_count(model))
    save_model(model, load_tokenizer(parent_dir), out_dir)
