"""Pre-training the demo's models: next-sentence pairs, masked-LM data, the pre-training and
distillation losses, and the ``pretrain`` build recipe.

The ``pretrain`` recipe makes the demo's models from scratch (masked-LM + next-sentence
prediction, like BERT and Google's small BERTs); compressed models (distillation, layer
dropping, pruning, int8) are made from them by :mod:`miniature.compress`.
"""

from __future__ import annotations

import logging
import random
import re
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from transformers import BertConfig, DataCollatorForLanguageModeling

from miniature.model_io import load_tokenizer, parameter_count, save_model
from miniature.training import discard_checkpoint, fingerprint_of, train

if TYPE_CHECKING:
    from transformers import BertForPreTraining

log = logging.getLogger(__name__)


def read_corpus(path: str | Path) -> list[str]:
    """The documents of a corpus file (one per line; blank lines skipped)."""
    return [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


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
    """The documents' sentence pairs, tokenized for masked-LM and next-sentence training."""
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
    # dropout buys nothing and only slows every training step.
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=intermediate,
                        max_position_embeddings=max_length, pad_token_id=tokenizer.pad_token_id,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    # Imported here: BERT's modeling code costs ~2.5 s at import; the tokenizer job imports this module for read_corpus.
    from transformers import BertForPreTraining

    return BertForPreTraining(config)


def _pretraining_outputs(model: BertForPreTraining, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Masked-LM logits of the masked positions only, and next-sentence logits.

    Vocabulary logits are computed for the masked tokens only, not for every token: the
    vocabulary projection is most of a small model's work.
    """
    sequence, pooled = model.bert(input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"],
                                  attention_mask=batch["attention_mask"], return_dict=False)[:2]
    masked = batch["labels"] != -100
    return model.cls.predictions(sequence[masked]), model.cls.seq_relationship(pooled), masked


def _pretraining_loss(model, batch) -> tuple[torch.Tensor, tuple]:
    mlm_logits, nsp_logits, masked = _pretraining_outputs(model, batch)
    loss = (F.cross_entropy(mlm_logits, batch["labels"][masked])
            + F.cross_entropy(nsp_logits, batch["next_sentence_label"]))
    return loss, (mlm_logits, nsp_logits)


def pretrain(model: BertForPreTraining, tokenizer, examples: list[dict], steps: int, seed: int,
             **settings) -> list[float]:
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
