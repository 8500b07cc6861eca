"""BERT-Attack (Li et al. 2020) assembled from ``textattack`` components, run offline.

textattack's stock recipe (``BERTAttackLi2020``) downloads its masked-LM from the hub and
the Universal Sentence Encoder from TensorFlow hub. This module builds the same attack
from the library's components with local models instead (see the README for every
deviation from the stock recipe):

* transformation: ``WordSwapMaskedLM(method="bert-attack", max_candidates=K)`` with the
  configured attack masked-LM, reading at most the classifier's ``max_length`` tokens;
* pre-transformation constraints: ``RepeatModification``, ``StopwordModification`` (with
  the project's own English stop-word list) and :class:`WithinModelWindow` (only words
  the classifier sees);
* constraints: ``MaxWordsPerturbed(max_percent=0.4)`` and a sentence-similarity
  constraint (cosine >= 0.2 against the original text) whose encoder averages the attack
  masked-LM's word-piece embeddings (:class:`EmbeddingSentenceEncoder`);
* goal: ``UntargetedClassification`` on :class:`ClassifierWrapper` (batched queries);
  search: ``GreedyWordSwapWIR(wir_method="unk")``.

Importing this module changes nothing outside it: textattack is imported when an attack is
built, by :func:`import_textattack`, which makes that import work without network and undoes
what it changes in the process. textattack downloads NLTK data on its first import and reads
NLTK's English stop-word list when it is imported. The project ships its own stop-word list
(``miniature/nltk_data``), puts a private copy of it first on NLTK's search path (NLTK refuses
folders other accounts can write, as in a clone made under umask 002), and marks textattack's
one-time post-install step as done. The attack itself gives the stop words to textattack
directly. The components that extend textattack's classes (:func:`textattack_components`) are
defined once textattack is imported.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import torch
from transformers import AutoModelForSequenceClassification

from miniature import data, sentiment, table3
from miniature.checkpoints import RowLog
from miniature.devices import autocast
from miniature.model_io import load_masked_lm, load_model, load_tokenizer
from miniature.progress import Progress
from miniature.training import discard_checkpoint, fingerprint_of

log = logging.getLogger(__name__)

NLTK_DATA = Path(__file__).resolve().parent / "nltk_data"
STOP_WORDS = NLTK_DATA / "corpora" / "stopwords" / "english"
# The marker file textattack 0.3.x looks for before it tries to download NLTK packages.
TEXTATTACK_POST_INSTALL_MARKER = "post_install_check_3"
_private_nltk_data: Path | None = None


def stop_words() -> set[str]:
    """The project's English stop words (the words the attack never replaces), read as a
    plain file: the attack gives them to textattack itself, not through NLTK."""
    return set(STOP_WORDS.read_text(encoding="utf-8").split())


def private_nltk_data() -> Path:
    """A copy of ``miniature/nltk_data`` in a folder only this account can write (0700, made
    by ``tempfile.mkdtemp``), made once per process and removed when it exits.

    NLTK 3.10 refuses data from a folder (or file) that another account can write or that
    another account owns, and a tree cloned under umask 002 (the default for regular accounts
    on Debian and Ubuntu, and usual in group-shared project folders) or unpacked from an
    archive has group-writable folders. So NLTK never reads the tree's own copy.
    """
    global _private_nltk_data
    if _private_nltk_data is None or not _private_nltk_data.is_dir():
        root = Path(tempfile.mkdtemp(prefix="miniature-nltk-"))
        atexit.register(shutil.rmtree, root, True)
        # Parents sort before their children. Each folder and file gets its mode explicitly:
        # mkdir(parents=True) and open() would follow the umask.
        for source in sorted(NLTK_DATA.rglob("*")):
            target = root / source.relative_to(NLTK_DATA)
            if source.is_dir():
                target.mkdir(mode=0o700)
                target.chmod(0o700)
            elif source.is_file():
                target.write_bytes(source.read_bytes())
                target.chmod(0o600)
        _private_nltk_data = root
    return _private_nltk_data


def prepare_offline_import() -> None:
    """Let ``import textattack`` succeed offline, from any clone: a private copy of our stop
    words (:func:`private_nltk_data`) first on NLTK's path, and textattack's post-install
    downloads (NLTK taggers, WordNet; not used here) marked done. Called by
    :func:`import_textattack`, before textattack is imported."""
    data = str(private_nltk_data())
    paths = [data] + [p for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p and p != str(NLTK_DATA)]
    os.environ["NLTK_DATA"] = os.pathsep.join(dict.fromkeys(paths))
    if "nltk" in sys.modules:  # NLTK reads NLTK_DATA when it is imported
        import nltk

        if data not in nltk.data.path:
            nltk.data.path.insert(0, data)
    cache = Path(os.environ.get("TA_CACHE_DIR") or Path.home() / ".cache" / "textattack")
    cache.mkdir(parents=True, exist_ok=True)
    (cache / TEXTATTACK_POST_INSTALL_MARKER).touch()


def _reopen_closed_log_files(logger: logging.Logger) -> None:
    """Replace the closed file handlers of ``logger`` by handlers appending to the same files."""
    for handler in list(logger.handlers):
        if isinstance(handler, logging.FileHandler) and handler.stream is None:
            reopened = logging.FileHandler(handler.baseFilename, mode="a", encoding=handler.encoding)
            reopened.setLevel(handler.level)
            reopened.setFormatter(handler.formatter)
            logger.removeHandler(handler)
            logger.addHandler(reopened)


@functools.cache
def import_textattack():
    """The ``textattack`` module, imported once per process, offline (:func:`prepare_offline_import`).

    Importing textattack sets TOKENIZERS_PARALLELISM=True and reconfigures logging, which
    silences every logger that exists already (the job's own among them) and closes every
    handler (the job's log file among them); all of that is undone here.
    """
    prepare_offline_import()
    tokenizers_parallelism = os.environ.get("TOKENIZERS_PARALLELISM")
    active_loggers = [logging.root] + [logger for logger in logging.root.manager.loggerDict.values()
                                       if isinstance(logger, logging.Logger) and not logger.disabled]
    import textattack

    if tokenizers_parallelism is None:
        os.environ.pop("TOKENIZERS_PARALLELISM", None)
    else:
        os.environ["TOKENIZERS_PARALLELISM"] = tokenizers_parallelism
    for logger in active_loggers:
        logger.disabled = False
        _reopen_closed_log_files(logger)
    return textattack


# By the name of textattack's result class: textattack is imported only once an attack is built.
OUTCOMES = {"SuccessfulAttackResult": "succeeded", "FailedAttackResult": "failed",
            "SkippedAttackResult": "skipped"}
EXAMPLE_COLUMNS = ["id", "label", "original_prediction", "outcome", "perturbed_text", "perturbed_prediction",
                   "words_changed", "queries"]


# --- components ------------------------------------------------------------------------------


class MemoizedMaskedLM(torch.nn.Module):
    """A masked-LM that remembers its output for the last input it read.

    BERT-Attack's word swap runs the masked-LM on the current text once for every word
    position the search tries, although the text only changes when a swap is kept; with
    this, the masked-LM reads each text once. The outputs are the same.
    """

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.config = model.config
        self._last: tuple = (None, None)

    def forward(self, input_ids, **inputs):
        key = (tuple(input_ids.shape), tuple(input_ids.flatten().tolist()),
               tuple(inputs.get("attention_mask", input_ids).flatten().tolist()))
        if self._last[0] != key:
            self._last = (key, self.model(input_ids=input_ids, **inputs))
        return self._last[1]


@functools.cache
def textattack_components() -> SimpleNamespace:
    """The attack's own components built on textattack's classes: ``ClassifierWrapper``,
    ``WithinModelWindow`` and ``EmbeddingSentenceEncoder``. They are defined here, once per
    process, because their base classes exist only once textattack is imported
    (:func:`import_textattack`)."""
    import_textattack()
    from textattack.constraints import PreTransformationConstraint
    from textattack.constraints.semantics.sentence_encoders import SentenceEncoder
    from textattack.models.wrappers import ModelWrapper

    class ClassifierWrapper(ModelWrapper):
        """The target classifier as textattack queries it: a batch of texts in, logits out.

        Texts are cut to ``max_length`` tokens and padded to the longest text of the batch
        (textattack's ``HuggingFaceModelWrapper`` pads every text to ``max_length``).
        ``query_seconds`` adds up the time spent answering queries (tokenizing and forward).
        """

        def __init__(self, model, tokenizer, max_length: int, bf16: bool = False):
            self.model = model.eval()
            self.tokenizer = tokenizer
            self.max_length = max_length
            self.bf16 = bf16
            self.query_seconds = 0.0

        def __call__(self, text_input_list, **kwargs):
            began = time.perf_counter()
            out = sentiment.logits(self.model, self.tokenizer, text_input_list, self.max_length,
                                   batch_size=max(1, len(text_input_list)), bf16=self.bf16)
            self.query_seconds += time.perf_counter() - began
            return torch.from_numpy(out)

    class WithinModelWindow(PreTransformationConstraint):
        """Only words that start inside the classifier's first ``max_length`` tokens may change.

        The classifier never sees the rest, so changing it cannot change the prediction; the
        stock recipe would still rank those words and run the masked-LM for each of them.
        """

        def __init__(self, tokenizer, max_length: int):
            self.tokenizer = tokenizer
            self.max_length = max_length
            # The search asks again for every word position it tries on the same text.
            self._window_end = functools.lru_cache(maxsize=4096)(self._characters_seen)

        def _characters_seen(self, text: str) -> int:
            """Where the part of ``text`` inside the first ``max_length`` tokens ends."""
            offsets = self.tokenizer(text, truncation=True, max_length=self.max_length,
                                     return_offsets_mapping=True)["offset_mapping"]
            return max((end for _, end in offsets), default=0)

        def _get_modifiable_indices(self, current_text):
            text = current_text.text
            window_end = self._window_end(text)
            lower, position, inside = text.lower(), 0, set()
            for i, word in enumerate(current_text.words):
                found = lower.find(word.lower(), position)
                if found >= 0:
                    position = found + len(word)
                if found < window_end:  # a word not found verbatim (rare) is kept modifiable
                    inside.add(i)
            return inside

        def extra_repr_keys(self):
            return ["max_length"]

    class EmbeddingSentenceEncoder(SentenceEncoder):
        """Sentence similarity with a local encoder instead of the Universal Sentence Encoder
        (which needs TensorFlow hub): a text's vector is the mean of its word-piece input
        embeddings in a model (here the attack masked-LM), as the Universal Sentence
        Encoder's deep-averaging variant starts from averaged word embeddings."""

        def __init__(self, embeddings: torch.nn.Embedding, tokenizer, max_length: int, threshold: float):
            super().__init__(threshold=threshold, metric="cosine", compare_against_original=True, window_size=None)
            self.embeddings = embeddings
            self.tokenizer = tokenizer
            self.max_length = max_length

        @torch.inference_mode()
        def encode(self, sentences):
            ids = self.tokenizer(list(sentences), truncation=True, max_length=self.max_length,
                                 add_special_tokens=False)["input_ids"]
            weight = self.embeddings.weight.detach().cpu()
            return torch.stack([weight[row].mean(0) if row else torch.zeros(weight.shape[1]) for row in ids])

        def extra_repr_keys(self):
            return ["max_length"] + super().extra_repr_keys()

    return SimpleNamespace(ClassifierWrapper=ClassifierWrapper, WithinModelWindow=WithinModelWindow,
                           EmbeddingSentenceEncoder=EmbeddingSentenceEncoder)


def build_attack(classifier, tokenizer, masked_lm, mlm_tokenizer, *, candidates: int, max_length: int,
                 max_percent_words: float = 0.4, similarity_threshold: float = 0.2, batch_size: int = 64,
                 device: str = "cpu", bf16: bool = False):
    """The BERT-Attack recipe against ``classifier``, the target and the masked-LM both on
    ``device``; returns (textattack Attack, model wrapper)."""
    if max_length > masked_lm.config.max_position_embeddings:
        raise ValueError(f"attack max_length {max_length} exceeds the attack masked-LM's "
                         f"{masked_lm.config.max_position_embeddings} positions")
    textattack = import_textattack()
    from textattack.constraints.overlap import MaxWordsPerturbed
    from textattack.constraints.pre_transformation import RepeatModification, StopwordModification
    from textattack.goal_functions import UntargetedClassification
    from textattack.search_methods import GreedyWordSwapWIR
    from textattack.transformations import WordSwapMaskedLM

    components = textattack_components()
    # textattack moves the masked-LM and its inputs to textattack.shared.utils.device, which it
    # sets on import to any visible GPU: point it at the job's device instead, so that a job
    # granted no GPU never takes one.
    textattack.shared.utils.device = torch.device(device)
    wrapper = components.ClassifierWrapper(classifier.to(device), tokenizer, max_length, bf16)
    transformation = WordSwapMaskedLM(method="bert-attack", masked_language_model=MemoizedMaskedLM(masked_lm),
                                      tokenizer=mlm_tokenizer, max_length=max_length, max_candidates=candidates)
    constraints = [
        RepeatModification(),
        StopwordModification(stopwords=stop_words()),
        components.WithinModelWindow(tokenizer, max_length),
        MaxWordsPerturbed(max_percent=max_percent_words),
        components.EmbeddingSentenceEncoder(masked_lm.get_input_embeddings(), mlm_tokenizer, max_length,
                                            similarity_threshold),
    ]
    goal = UntargetedClassification(wrapper, model_batch_size=batch_size)
    search = GreedyWordSwapWIR(wir_method="unk")
    return textattack.Attack(goal, constraints, transformation, search), wrapper


# --- running it --------------------------------------------------------------------------------


def example_row(example_id: str, label: int, result) -> dict:
    """One attacked example as a row of ``examples.csv``."""
    outcome = OUTCOMES[type(result).__name__]
    original, perturbed = result.original_result, result.perturbed_result
    skipped = outcome == "skipped"
    return {"id": example_id, "label": int(label), "original_prediction": int(original.output),
            "outcome": outcome,
            "perturbed_text": "" if skipped else perturbed.attacked_text.text,
            "perturbed_prediction": int(original.output if skipped else perturbed.output),
            "words_changed": 0 if skipped else len(original.attacked_text.all_words_diff(perturbed.attacked_text)),
            "queries": int(result.num_queries)}


def attack_examples(attack, examples: list[dict], device: str = "cpu", bf16: bool = False,
                    checkpoint: RowLog | None = None) -> list[dict]:
    """Attack each example ({id, text, label}); one row per example, in order. With ``bf16``
    every model the attack runs (target and masked-LM) runs under bfloat16 autocast.

    With ``checkpoint`` (a :class:`~miniature.checkpoints.RowLog`), each example's row is
    appended to it as soon as it is attacked, and the examples it already holds are not
    attacked again. Every example is attacked from empty caches, so its row does not depend
    on which examples were attacked before it in the same process: a resumed run gives the
    rows of an uninterrupted one.
    """
    rows = []
    if checkpoint is not None:
        rows = checkpoint.open(ids=[e["id"] for e in examples])
        if len(rows) == len(examples):
            log.info("resumed with all %d reviews attacked", len(examples))
        elif rows:
            log.info("resumed at review %d of %d", len(rows) + 1, len(examples))
    start = len(rows)
    progress = Progress("attacked reviews", len(examples), done=start, logger=log)
    try:
        for example in examples[start:]:
            # textattack keeps its query, transformation and constraint caches between
            # examples (and drops them only after a search, not after a skipped example);
            # a cached query can change how the next ones are batched, so every example starts
            # from empty caches.
            attack.clear_cache()
            with autocast(device, bf16):
                result = attack.attack(example["text"], int(example["label"]))
            rows.append(example_row(example["id"], example["label"], result))
            if checkpoint is not None:
                checkpoint.append(rows[-1])
            progress.advance(detail=lambda: str(pd.Series([r["outcome"] for r in rows]).value_counts().to_dict()))
    finally:
        if checkpoint is not None:
            checkpoint.close()
    return rows


# --- the workflow's stages ---------------------------------------------------------------------


def attack_target(target_dir, masked_lm_dir, sample_path, examples_path, summary_path, succeeded_path,
                  settings: dict, max_length: int, device: str = "cpu", checkpoint_dir=None) -> dict:
    """Attack one fine-tuned sentiment classifier on the sample (target and masked-LM on
    ``device``); write its examples, its summary (Table 3's numbers) and the sorted ids of the
    successfully attacked examples.

    With ``checkpoint_dir``, each attacked review's row is kept in ``<checkpoint_dir>/rows.jsonl``
    (keyed by the settings, the device type and the content of the target, the masked-LM and
    the sample), so that a killed job continues at the next unattacked review; the folder is
    removed once the outputs are written."""
    tokenizer = load_tokenizer(target_dir)
    classifier = load_model(AutoModelForSequenceClassification, target_dir)
    masked_lm = load_masked_lm(masked_lm_dir)
    attack, wrapper = build_attack(classifier, tokenizer, masked_lm, load_tokenizer(masked_lm_dir),
                                   candidates=settings["candidates"], max_length=max_length,
                                   max_percent_words=settings["max_percent_words"],
                                   similarity_threshold=settings["similarity_threshold"],
                                   batch_size=settings["batch_size"], device=device, bf16=settings["bf16"])
    log.info("%s", attack)
    examples = list(data.load_sentiment(sample_path))
    began = time.perf_counter()
    checkpoint = None
    if checkpoint_dir is not None:
        fingerprint = fingerprint_of({"settings": settings, "max_length": max_length,
                                      "device": torch.device(device).type}, target_dir, masked_lm_dir, sample_path)
        checkpoint = RowLog(Path(checkpoint_dir) / "rows.jsonl", fingerprint)
    rows = attack_examples(attack, examples, device, settings["bf16"], checkpoint)
    seconds = time.perf_counter() - began
    summary = table3.attack_summary([r["outcome"] for r in rows], [r["queries"] for r in rows])
    # Wall times go to the log only: the summary is the same on every run.
    summary.update(max_length=max_length, settings=settings)
    log.info("%d examples in %.0fs, %.0f%% of it answering target queries; %s", len(rows), seconds,
             100 * wrapper.query_seconds / max(seconds, 1e-9),
             {k: summary[k] for k in table3.TABLE3_COLUMNS[1:]})
    data.write_csv(pd.DataFrame(rows, columns=EXAMPLE_COLUMNS), examples_path)
    data.write_json(summary, summary_path)
    data.write_json(sorted(r["id"] for r in rows if r["outcome"] == "succeeded"), succeeded_path)
    discard_checkpoint(checkpoint_dir)
    return summary
