"""The demo's tokenizer: a lower-casing WordPiece tokenizer learnt from the generated corpus."""

from __future__ import annotations

import logging
from pathlib import Path

from transformers import BertTokenizerFast

from miniature import files
from miniature.pretraining import read_corpus

log = logging.getLogger(__name__)

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def initial_symbols(documents: list[str], normalizer, pre_tokenizer, prefix: str = "##") -> list[str]:
    """The symbols WordPiece training starts from: every character of the documents' words, then
    every character that continues a word, with ``prefix``; each group sorted."""
    words = {word for document in documents
             for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(document))}
    return [*sorted({c for word in words for c in word}), *sorted({prefix + c for word in words for c in word[1:]})]


def train_tokenizer(documents: list[str], vocab_size: int, max_length: int) -> BertTokenizerFast:
    """A lower-casing WordPiece tokenizer trained on the documents by ``tokenizers``' WordPieceTrainer,
    as a BERT tokenizer of ``vocab_size`` entries (SPECIAL_TOKENS first, in that order).

    The same documents give the same tokenizer in every process. The trainer numbers the
    continuation characters (``##e``) in hash-map order, which changes from process to process,
    and breaks ties between equally frequent merges by those numbers (huggingface/tokenizers#1794).
    So it is handed every starting symbol (:func:`initial_symbols`) after the special tokens, as
    tokens it must keep: they all have fixed numbers, and the trainer only learns the merges. It
    treats the tokens it is handed as special, so the tokenizer is then built from the learnt
    vocabulary with only SPECIAL_TOKENS special.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from tokenizers.processors import TemplateProcessing

    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    learner = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    learner.normalizer, learner.pre_tokenizer = normalizer, pre_tokenizer
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, show_progress=False,
        special_tokens=[*SPECIAL_TOKENS, *initial_symbols(documents, normalizer, pre_tokenizer)])
    learner.train_from_iterator(documents, trainer)

    tokenizer = Tokenizer(models.WordPiece(learner.get_vocab(with_added_tokens=False), unk_token="[UNK]"))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.WordPiece()
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return BertTokenizerFast(tokenizer_object=tokenizer, do_lower_case=True, model_max_length=max_length,
                             unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
                             mask_token="[MASK]")


def build_tokenizer(corpus: str | Path, out_dir: str | Path, vocab_size: int, max_length: int) -> None:
    """The tokenize stage: train the tokenizer on the corpus file and save it as a folder."""
    tokenizer = train_tokenizer(read_corpus(corpus), vocab_size, max_length)
    with files.atomic_dir(out_dir) as tmp:
        tokenizer.save_pretrained(str(tmp))
    log.info("tokenizer with %d entries saved to %s", len(tokenizer), out_dir)
