"""What the paper run costs, on paper: FLOPs, hours and disk per stage and model, calibrated here.

The work of every stage of the paper config (configs/paper.yaml: six BERTs fine-tuned on
SQuAD 2.0 and IMDB, predictions on SQuAD 2.0 dev, [CLS] vectors before and after
fine-tuning, Deep-kNN on NewsQA, BERT-Attack on 1,000 IMDB reviews) is derived from the
config (epochs, lengths, sample sizes, as ``miniature.config.validate_config`` fills them
in), the models' public shapes and the public dataset sizes:

* forward FLOPs per token = 2 x (non-embedding weights) + 4 x layers x length x hidden
  (attention scores and weighted sum) + the task head; training (forward + backward) = 3 x
  forward, i.e. the usual 6 x parameters x tokens plus the attention term;
* tokens = windows (or reviews) x their mean length under the workflow's length-bucketed
  dynamic padding (measured once with the bert-base-uncased vocabulary, see the constants;
  ``--padded`` counts every window at max_length, what a pad-to-max recipe such as
  Hugging Face's run_qa.py pays).

It then times forward + backward and forward-only steps of random-weight
``BertForQuestionAnswering`` models of the real shapes on this machine (fp32, sequences of
384 tokens, batch 2 for BERT-base and larger batches of equal cost for smaller shapes, up to
the workflow's 32; the rate counts the process's CPU time per thread unless ``--clock wall``,
so other load on a shared machine slows the measurement but does not skew it much), and
prints per stage and model the hours on this machine (all its cores, at the measured FLOP/s
of the closest timed shape), and the GPU hours of an
A100-class and an H100-class GPU at a stated utilisation; the disk each stage's outputs
take; and the totals: every job one after another, one 8-GPU node (list scheduling of the
per-model jobs along the DAG, with its lower bound), and a Slurm fan-out with a GPU per job
(the critical path: the longest chain of one model's jobs).

    python benchmarks/paper_cost.py [--config configs/paper.yaml] [--shapes base medium mini tiny]
        [--steps 2] [--batch 2] [--length 384] [--clock cpu|wall] [--mfu 0.4] [--padded] [--quick]
        [--squad-train 130319] [--squad-dev 11873] [--imdb-train 25000] [--imdb-test 25000] [--newsqa 4212]
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The benchmark runs as a script from any folder: the project goes on sys.path before its import.
from miniature import config as cfg  # noqa: E402

# --- the models' shapes (their public config.json files) ----------------------------------------


@dataclass(frozen=True)
class Shape:
    layers: int
    hidden: int
    intermediate: int
    heads: int
    distil: bool = False  # DistilBERT: no token-type embeddings, no pooler, its own heads
    vocab: int = 30522
    positions: int = 512


SHAPES = {
    "large": Shape(24, 1024, 4096, 16),
    "base": Shape(12, 768, 3072, 12),
    "distil": Shape(6, 768, 3072, 12, distil=True),
    "medium": Shape(8, 512, 2048, 8),
    "mini": Shape(4, 256, 1024, 4),
    "tiny": Shape(2, 128, 512, 2),
}
HUB_SHAPES = {
    "google-bert/bert-large-uncased": "large",
    "bert-large-uncased": "large",
    "google-bert/bert-base-uncased": "base",
    "bert-base-uncased": "base",
    "distilbert/distilbert-base-uncased": "distil",
    "distilbert-base-uncased": "distil",
    "google/bert_uncased_L-8_H-512_A-8": "medium",
    "google/bert_uncased_L-4_H-256_A-4": "mini",
    "google/bert_uncased_L-2_H-128_A-2": "tiny",
}

# --- the data (public sizes) and how long its windows are ---------------------------------------

# Dataset sizes: SQuAD 2.0 train 130,319 and dev 11,873 questions (Rajpurkar et al. 2018);
# IMDB 25,000 train and 25,000 test reviews (Maas et al. 2011); NewsQA dev as MRQA 2019
# distributes it (the paper config's challenge set) 4,212 questions.
SIZES = {"squad_train": 130_319, "squad_dev": 11_873, "imdb_train": 25_000, "imdb_test": 25_000, "newsqa": 4_212}
# Windows (384 tokens, stride 128, bert-base-uncased vocabulary) per question. Dev: 12,134
# windows for 11,873 questions (measured: miniature.qa.eval_features on ../shared/data
# squad2-dev with the uncased BERT vocabulary, which all-MiniLM-L6-v2 ships). Train: about
# 132k windows (design.md; train contexts are shorter: SQuAD 1.1 train gives 1.002 windows
# per question at these settings, dev 1.024).
WINDOWS_PER_QUESTION = {"squad_train": 132_000 / 130_319, "squad_dev": 12_134 / 11_873}
# Mean tokens of a window (question + context + 3 special tokens) at max_length 384, measured
# on SQuAD 2.0 dev as above: all windows 180.0, first windows (what embed reads) 178.1. Train
# is assumed the same. With length-bucketed batches (miniature.training.epoch_batches,
# miniature.batching.length_sorted_batches) padding adds little, and it is not counted.
SQUAD_WINDOW_TOKENS = 180.0
SQUAD_FIRST_WINDOW_TOKENS = 178.1
# NewsQA's CNN stories run to ~600+ words: its first windows are nearly full. Measured on
# the public 17-question MRQA sample (../shared/data/ood-qa): 364.6 of 384 tokens.
NEWSQA_FIRST_WINDOW_TOKENS = 365.0
# IMDB reviews: mean 314 tokens, median 233; 89.3 % are longer than 128, so at max_length
# 128 the mean is 123.7 (measured on IMDB train, bert-base-uncased vocabulary).
IMDB_TOKENS_AT_128 = 123.7
IMDB_MEAN_TOKENS = 313.9

# --- BERT-Attack's queries (textattack's GreedyWordSwapWIR, wir_method="unk") -------------------

# Ranking: one target query per modifiable word, all in one batch. A word is modifiable when
# it is no stop word and starts inside the classifier's 128 tokens: measured on the paper's
# 1,000-review sample (textattack's word split, StopwordModification's list,
# miniature.attack.WithinModelWindow): 220 words, 92.5 inside 128 tokens, 46.9 modifiable
# (10th-90th percentile 38-56).
ATTACK_RANKED_WORDS = 46.9
# Swapping: in rank order, one batch of at most K candidates per word tried, until the label
# flips or the words run out (MaxWordsPerturbed at 40 % of 220 words never binds before 47
# words are tried). A successful attack stops after a few words (Li et al. 2020: 4.4 % of
# the words of an IMDB review perturbed), a failed one tries all: ASSUMED half the ranked
# words tried on average.
ATTACK_TRIED_FRACTION = 0.5
# The masked-LM (memoised, miniature.attack.MemoizedMaskedLM) reads the text once, and again
# after every kept swap: ASSUMED 10 kept swaps per review (Li et al. 2020: 4.4 % of ~215
# words on IMDB = ~9.5 words perturbed).
ATTACK_KEPT_SWAPS = 10
# textattack's own Python work per target query (building candidate texts, tokenising,
# constraint checks). From README's attack benchmark (demo target, one thread): 7.8
# examples/s, 30.7 queries/example, 44 % of the time outside forward passes -> 1.8 ms per
# query; rounded up for IMDB's longer texts. It runs on the host whatever the device.
ATTACK_HOST_SECONDS_PER_QUERY = 0.002

# --- accelerators -------------------------------------------------------------------------------

# Dense bf16 tensor-core peaks (vendor data sheets, SXM parts) and the share of it that a
# well-batched BERT step sustains (model FLOPs utilisation; ~40-50 % is typical for BERT
# training in bf16 mixed precision).
GPUS = {"A100": 312e12, "H100": 989e12}
MFU = 0.40
# Small models cannot fill a GPU: eager PyTorch launches ~20 kernels per encoder layer per
# forward at ~10 us each, so a forward costs at least this per layer whatever its FLOPs
# (a training step: 3 x). An order-of-magnitude floor, not a measurement.
GPU_LAUNCH_SECONDS_PER_LAYER = 2e-4
GPUS_PER_NODE = 8

# --- disk -----------------------------------------------------------------------------------------

BYTES_FP32 = 4
# State of a fine-tune checkpoint (results/checkpoints/..., miniature.training.train): the
# model and AdamW's two moments, fp32, written next to the previous one before replacing it;
# removed when the job ends.
CHECKPOINT_BYTES_PER_PARAM = 2 * 3 * BYTES_FP32
# A question id in an .npz file: numpy unicode, 4 bytes a character; SQuAD ids have 24
# characters, MRQA's NewsQA ids up to 32.
ID_BYTES = 4 * 32
# Predictions, null margins, metrics (~12k answers) and the attack's examples.csv (1,000
# reviews with their perturbed text): a few MB each per model.
SMALL_OUTPUTS_BYTES = {"predict": 3e6, "attack": 2e6}
# The data splits as JSON/JSONL under results/data (SQuAD 2.0 train 42 MB, dev 4.4 MB, IMDB
# ~33 MB a split, NewsQA dev ~10 MB): once for all models.
DATA_BYTES = 42e6 + 4.4e6 + 2 * 33e6 + 10e6


# --- parameters and FLOPs --------------------------------------------------------------------------


def layer_params(s: Shape) -> int:
    """Weights and biases of one encoder layer: Q, K, V, output, feed-forward, two LayerNorms."""
    return (
        4 * (s.hidden * s.hidden + s.hidden) + 2 * s.hidden * s.intermediate + s.intermediate + s.hidden + 4 * s.hidden
    )


def encoder_params(s: Shape) -> int:
    """Non-embedding weights: the ones every token multiplies through."""
    return s.layers * layer_params(s)


def params(s: Shape, head: str) -> int:
    """All parameters (tied weights once, as safetensors stores them) of the model with
    ``head``: ``pretraining`` (BertForPreTraining / DistilBertForMaskedLM, what
    results/models holds), ``qa`` (…ForQuestionAnswering) or ``classifier`` (…ForSequenceClassification, 2 labels)."""
    h = s.hidden
    embeddings = (s.vocab + s.positions + (0 if s.distil else 2)) * h + 2 * h
    pooler = 0 if s.distil else h * h + h
    heads = {
        # masked-LM transform + LayerNorm + decoder bias (decoder tied to the word embeddings), + NSP for BERT
        "pretraining": h * h + h + 2 * h + s.vocab + (0 if s.distil else pooler + 2 * h + 2),
        "qa": 2 * h + 2,
        # BERT: pooler + classifier; DistilBERT: pre-classifier + classifier
        "classifier": (h * h + h if s.distil else pooler) + 2 * h + 2,
    }
    return embeddings + encoder_params(s) + heads[head]


def forward_flops_per_token(s: Shape, length: float, head: str = "qa") -> float:
    """FLOPs of one token's forward pass in a sequence of ``length`` tokens."""
    flops = 2 * encoder_params(s) + 4 * s.layers * length * s.hidden
    if head == "masked_lm":  # transform + vocabulary projection of every token
        flops += 2 * (s.hidden * s.hidden + s.hidden * s.vocab)
    elif head == "qa":
        flops += 2 * 2 * s.hidden
    return flops  # a classifier's head works on [CLS] only: negligible


def train_flops_per_token(s: Shape, length: float, head: str = "qa") -> float:
    """Forward + backward (backward = 2 x forward); AdamW's update is a few FLOPs per
    parameter per step, under 0.1 % at batch 32, and not counted."""
    return 3 * forward_flops_per_token(s, length, head)


def steps(n_examples: int, settings: dict) -> int:
    """Optimizer steps of a fine-tune, as miniature.training.total_steps counts them."""
    if settings.get("steps") is not None:
        return int(settings["steps"])
    return max(1, math.ceil(settings["epochs"] * max(1, n_examples // settings["batch_size"])))


# --- the stages' work --------------------------------------------------------------------------------


@dataclass
class Work:
    """One job's work: FLOPs and how they run (``train`` or ``forward`` on the model's shape,
    ``faiss`` on the CPU); layer calls (forward calls x encoder layers, a training step
    counting 3 forwards) for the GPU launch floor; host seconds that no accelerator
    shortens; and FLOPs of the attack's masked-LM (a forward on its own shape)."""

    flops: float
    kind: str
    layer_calls: float = 0.0
    host_seconds: float = 0.0
    masked_lm_flops: float = 0.0

    @property
    def total_flops(self) -> float:
        return self.flops + self.masked_lm_flops


def attack_queries(
    ranked_words: float = ATTACK_RANKED_WORDS, candidates: int = 3, tried_fraction: float = ATTACK_TRIED_FRACTION
) -> tuple[float, float]:
    """Target queries and target forward calls (batches) per attacked review: the original
    text, the ranking (one batch), and K candidates for each word tried (one batch each)."""
    tried = tried_fraction * ranked_words
    return 1 + ranked_words + candidates * tried, 2 + tried


def imdb_tokens(max_length: int, padded: bool = False) -> float:
    """Mean tokens of an IMDB review cut to ``max_length`` (at 128: measured; otherwise
    bounded by the untruncated mean, an overestimate)."""
    if padded:
        return max_length
    return min(IMDB_TOKENS_AT_128 if max_length == 128 else IMDB_MEAN_TOKENS, max_length)


def stage_work(config: dict, key: str, shape: Shape, masked_lm: Shape, sizes: dict, padded: bool = False) -> dict:
    """Per stage of one model (a QA key of the config), its :class:`Work`."""
    qa = cfg.finetune_settings(config, key, "qa")
    sent = cfg.finetune_settings(config, key, "sentiment")
    qa_len = qa["max_length"] if padded else min(SQUAD_WINDOW_TOKENS, qa["max_length"])
    first_len = qa["max_length"] if padded else min(SQUAD_FIRST_WINDOW_TOKENS, qa["max_length"])
    news_len = qa["max_length"] if padded else min(NEWSQA_FIRST_WINDOW_TOKENS, qa["max_length"])
    imdb_len = imdb_tokens(sent["max_length"], padded)
    work = {}
    train_windows = round(sizes["squad_train"] * WINDOWS_PER_QUESTION["squad_train"])
    n = steps(train_windows, qa) * qa["batch_size"]  # windows read, epochs included
    work["finetune_qa"] = Work(
        n * qa_len * train_flops_per_token(shape, qa_len),
        "train",
        layer_calls=3 * steps(train_windows, qa) * shape.layers,
    )
    dev_windows = round(sizes["squad_dev"] * WINDOWS_PER_QUESTION["squad_dev"])
    predict = config["predict"]
    batches = max(dev_windows / predict["batch_size"], dev_windows * qa_len / (predict.get("batch_tokens") or 1e18))
    work["predict"] = Work(
        dev_windows * qa_len * forward_flops_per_token(shape, qa_len), "forward", layer_calls=batches * shape.layers
    )
    if key != cfg.seed_baseline(config):  # the seed baseline only fine-tunes and predicts
        # embed: the test questions' first windows before fine-tuning; after it the test
        # questions, ood.train_questions training questions and the challenge questions.
        squad_points = 2 * sizes["squad_dev"] + min(config["ood"]["train_questions"], sizes["squad_train"])
        embed_flops = (
            squad_points * first_len * forward_flops_per_token(shape, first_len, "none")
            + sizes["newsqa"] * news_len * forward_flops_per_token(shape, news_len, "none")
        )
        work["embed"] = Work(
            embed_flops,
            "forward",
            layer_calls=(squad_points + sizes["newsqa"]) / config["embed"]["batch_size"] * shape.layers,
        )
        # neighbours: all-vs-all inner products of the test vectors, before and after;
        # ood: the test and challenge vectors against the training subsample.
        k_train = min(config["ood"]["train_questions"], sizes["squad_train"])
        work["neighbours+ood"] = Work(
            2 * shape.hidden * (2 * sizes["squad_dev"] ** 2 + (sizes["squad_dev"] + sizes["newsqa"]) * k_train), "faiss"
        )
        steps_sent = steps(sizes["imdb_train"], sent)
        # fine-tuning, then the test split's accuracy (miniature.finetune.finetune_sentiment;
        # its forward FLOPs, 1/7 of the job's, are timed at the training rate)
        work["finetune_sentiment"] = Work(
            steps_sent * sent["batch_size"] * imdb_len * train_flops_per_token(shape, imdb_len, "classifier")
            + sizes["imdb_test"] * imdb_len * forward_flops_per_token(shape, imdb_len, "classifier"),
            "train",
            layer_calls=(3 * steps_sent + sizes["imdb_test"] / 64) * shape.layers,
        )
        attack = config["attack"]
        queries, calls = attack_queries(candidates=attack["candidates"])
        length = imdb_tokens(cfg.attack_max_length(config, key), padded)
        reviews = attack["sample_size"]
        mlm_reads = reviews * (1 + ATTACK_KEPT_SWAPS)
        work["attack"] = Work(
            reviews * queries * length * forward_flops_per_token(shape, length, "classifier"),
            "forward",
            layer_calls=reviews * calls * shape.layers + mlm_reads * masked_lm.layers,
            host_seconds=reviews * queries * ATTACK_HOST_SECONDS_PER_QUERY,
            masked_lm_flops=mlm_reads * length * forward_flops_per_token(masked_lm, length, "masked_lm"),
        )
    return work


def hours_on(work: Work, flops_per_s: dict, masked_lm_flops_per_s: float | None = None) -> float:
    """Hours of a job on a machine with the given FLOP/s per kind (``train``, ``forward``,
    ``faiss``) for the model's shape, and the forward FLOP/s of the masked-LM's shape."""
    masked_lm = (
        work.masked_lm_flops / (masked_lm_flops_per_s or flops_per_s["forward"]) if work.masked_lm_flops else 0.0
    )
    return (work.flops / flops_per_s[work.kind] + masked_lm + work.host_seconds) / 3600


def gpu_hours(work: Work, peak: float, mfu: float = MFU, launch: float = GPU_LAUNCH_SECONDS_PER_LAYER) -> float:
    """Hours of a job on one GPU: its FLOPs at ``mfu`` of ``peak``, but no less than its
    calls' launch floor, plus its host time. FAISS jobs stay on the CPU: 0."""
    if work.kind == "faiss":
        return 0.0
    return (max(work.total_flops / (peak * mfu), work.layer_calls * launch) + work.host_seconds) / 3600


def disk_bytes(config: dict, key: str, shape: Shape, sizes: dict) -> dict:
    """Bytes each stage of one model leaves on disk (``checkpoints``: the transient peak)."""
    h = shape.hidden
    out = {
        "hub cache": params(shape, "pretraining") * BYTES_FP32,
        "models": params(shape, "pretraining") * BYTES_FP32,
        "finetune_qa": params(shape, "qa") * BYTES_FP32,
        "finetune_sentiment": params(shape, "classifier") * BYTES_FP32,
        "checkpoints (transient)": (params(shape, "qa") + params(shape, "classifier")) * CHECKPOINT_BYTES_PER_PARAM,
    }
    k_train = min(config["ood"]["train_questions"], sizes["squad_train"])
    points = 2 * sizes["squad_dev"] + k_train + sizes["newsqa"]  # before: test; after: test, train, challenge
    out["embed"] = points * (h * BYTES_FP32 + ID_BYTES)
    k_max = max([config["knn"]["k"], *config["knn"]["sweep"]])
    out["neighbours"] = 2 * sizes["squad_dev"] * (k_max * (8 + 4) + ID_BYTES)  # int64 rows + float32 similarities
    out["predict+attack"] = sum(SMALL_OUTPUTS_BYTES.values())
    return out


# --- schedules ---------------------------------------------------------------------------------------

DEPENDS = {
    "finetune_qa": [],
    "predict": ["finetune_qa"],
    "embed": ["finetune_qa"],
    "neighbours+ood": ["embed"],
    "finetune_sentiment": [],
    "attack": ["finetune_sentiment"],
}


def chain_lengths(durations: dict) -> dict:
    """Per job (model, stage): the longest chain from its start to the end of its model's DAG."""
    memo = {}

    def tail(job):
        if job not in memo:
            model, stage = job
            after = [(model, s) for s, deps in DEPENDS.items() if stage in deps and (model, s) in durations]
            memo[job] = durations[job] + max((tail(j) for j in after), default=0.0)
        return memo[job]

    return {job: tail(job) for job in durations}


def critical_path(durations: dict) -> float:
    """The longest dependency chain (a Slurm fan-out with a GPU for every job takes this long)."""
    return max(chain_lengths(durations).values(), default=0.0)


def critical_chain(durations: dict) -> list:
    """The jobs of the longest chain, in order."""
    tails = chain_lengths(durations)
    job = max(tails, key=tails.get)
    chain = [job]
    while True:
        after = [(job[0], s) for s, deps in DEPENDS.items() if job[1] in deps and (job[0], s) in durations]
        if not after:
            return chain
        job = max(after, key=tails.get)
        chain.append(job)


def list_schedule(durations: dict, on_gpu: dict, gpus: int) -> float:
    """Makespan of greedy list scheduling on ``gpus`` GPUs: whenever a GPU is free, the ready
    job with the longest remaining chain starts on it; CPU jobs (on_gpu False) start as soon
    as they are ready, alongside (a node has cores to spare for FAISS)."""
    priority = chain_lengths(durations)
    finish, running, free, now = {}, [], gpus, 0.0
    pending = set(durations)
    while pending or running:
        ready = sorted(
            (
                j
                for j in pending
                if all(
                    (j[0], d) in finish and finish[(j[0], d)] <= now for d in DEPENDS[j[1]] if (j[0], d) in durations
                )
            ),
            key=lambda j: -priority[j],
        )
        for job in ready:
            if not on_gpu[job] or free > 0:
                free -= on_gpu[job]
                finish[job] = now + durations[job]
                running.append(job)
                pending.discard(job)
        if not running:
            break
        now = min(finish[j] for j in running)
        for job in [j for j in running if finish[j] <= now]:
            running.remove(job)
            free += on_gpu[job]
    return max(finish.values(), default=0.0)


# --- measuring this machine --------------------------------------------------------------------------


def machine() -> dict:
    info = {"cpu": platform.processor() or "?", "flags": set()}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                info["flags"] = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    return info


def measure(shape: Shape, batch: int, length: int, timed: int) -> dict:
    """Best-of-``timed`` seconds of a forward + backward and of a forward-only step of a
    random-weight BertForQuestionAnswering of ``shape`` (fp32, after one warm-up step), and
    the FLOP/s they reach by the FLOP count above: by the wall clock (``*_wall``), and by
    the process's CPU time spread over torch's threads (what the step would take with
    every thread on its own idle core; a busy machine slows the wall clock, not this)."""
    import torch
    from transformers import BertConfig, BertForQuestionAnswering

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=shape.vocab,
        hidden_size=shape.hidden,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        intermediate_size=shape.intermediate,
        max_position_embeddings=shape.positions,
    )
    model = BertForQuestionAnswering(config)
    ids = torch.randint(1000, shape.vocab, (batch, length))
    targets = {
        "start_positions": torch.randint(0, length, (batch,)),
        "end_positions": torch.randint(0, length, (batch,)),
    }
    threads = torch.get_num_threads()

    def best(step) -> tuple[float, float]:
        wall, cpu = [], []
        for _ in range(timed + 1):
            w, c = time.perf_counter(), time.process_time()
            step()
            wall.append(time.perf_counter() - w)
            cpu.append((time.process_time() - c) / threads)
        return min(wall[1:]), min(cpu[1:])

    def train_step():
        model(input_ids=ids, **targets).loss.backward()
        model.zero_grad(set_to_none=True)

    model.train()
    train_wall, train_cpu = best(train_step)
    model.eval()
    with torch.inference_mode():
        forward_wall, forward_cpu = best(lambda: model(input_ids=ids))
    tokens = batch * length
    train, forward = tokens * train_flops_per_token(shape, length), tokens * forward_flops_per_token(shape, length)
    return {
        "train_s": train_wall,
        "forward_s": forward_wall,
        "train_wall": train / train_wall,
        "forward_wall": forward / forward_wall,
        "train": train / train_cpu,
        "forward": forward / forward_cpu,
    }


def calibration_batch(shape: Shape, batch: int, length: int, most: int) -> int:
    """Sequences per timed step of ``shape``: as many as make the step cost what ``batch``
    sequences of BERT-base cost, between ``batch`` and ``most`` (the workflow's training
    batch). Small shapes at a BERT-base batch would time per-call overhead, not their
    matrix multiplies, and the workflow runs them at full batches."""
    base = forward_flops_per_token(SHAPES["base"], length)
    return max(batch, min(most, round(batch * base / forward_flops_per_token(shape, length))))


def closest(shape: Shape, measured: dict) -> str:
    """The measured shape nearest in width (log scale), then in depth: matrix-multiply
    efficiency depends mostly on the width."""
    return min(
        measured,
        key=lambda k: (abs(math.log(SHAPES[k].hidden / shape.hidden)), abs(math.log(SHAPES[k].layers / shape.layers))),
    )


def shape_of(config: dict, source) -> str:
    """The SHAPES key of a model key or source (hub id or key name)."""
    spec = config["models"].get(source, source) if isinstance(source, str) else source
    hub = spec.get("hub", {}).get("id") if isinstance(spec, dict) else None
    name = HUB_SHAPES.get(hub) or (source if isinstance(source, str) and source in SHAPES else None)
    if name is None:
        sys.exit(f"no known shape for model {source!r} ({hub}): add it to SHAPES / HUB_SHAPES")
    return name


# --- printing ----------------------------------------------------------------------------------------


def fmt_h(hours: float) -> str:
    if hours >= 100:
        return f"{hours:,.0f}"
    return f"{hours:.2f}" if hours >= 0.01 else f"{hours * 3600:.1f}s"


def fmt_b(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n / 1e3:.0f} kB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "paper.yaml")
    parser.add_argument(
        "--shapes",
        nargs="+",
        choices=list(SHAPES),
        default=None,
        help="shapes to time (default base medium mini tiny; --quick: base mini)",
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="timed steps per shape, after a warm-up (default 2; --quick 1)"
    )
    parser.add_argument(
        "--clock",
        choices=["cpu", "wall"],
        default="cpu",
        help="rate from the process's CPU time per thread (default: what an idle machine does) "
        "or from the wall clock (what this machine did, load included)",
    )
    parser.add_argument("--batch", type=int, default=2, help="sequences per timed step of the base shape")
    parser.add_argument("--length", type=int, default=384, help="tokens per sequence in the timed steps")
    parser.add_argument("--mfu", type=float, default=MFU, help="share of a GPU's bf16 peak sustained")
    parser.add_argument("--padded", action="store_true", help="count every window at max_length (pad-to-max recipes)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--quick", action="store_true", help="time only base and mini, one step each")
    for name, size in SIZES.items():
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            type=int,
            default=size,
            dest=name,
            help=f"{name.replace('_', ' ')} size (default {size:,})",
        )
    args = parser.parse_args()
    shapes = args.shapes or (["base", "mini"] if args.quick else ["base", "medium", "mini", "tiny"])
    timed = args.steps or (1 if args.quick else 2)
    sizes = {name: getattr(args, name) for name in SIZES}

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    import transformers
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()

    info = machine()
    bf16 = sorted(f for f in info["flags"] if "bf16" in f or f.startswith("amx"))
    print(
        f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; command: "
        f"python {' '.join(shlex.quote(a) for a in sys.argv)}"
    )
    print(
        f"machine: {info['cpu']}, {os.cpu_count()} cores, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"transformers {transformers.__version__}; "
        f"bf16 units: {', '.join(bf16) if bf16 else 'none (no avx512_bf16/amx)'}"
        f"{'; avx512f' if 'avx512f' in info['flags'] else '; AVX2 only' if 'avx2' in info['flags'] else ''}"
    )

    config = cfg.validate_config(yaml.safe_load(open(args.config)))
    keys = cfg.fine_tuned_by_workflow(config)
    model_shape = {k: shape_of(config, cfg.base_model(config, k)) for k in keys}
    mlm_shape = SHAPES[shape_of(config, config["attack"]["masked_lm"])]
    qa = cfg.finetune_settings(config, config["reference"], "qa")
    sent = cfg.finetune_settings(config, config["reference"], "sentiment")
    print(
        f"config: {args.config}; models {', '.join(f'{k} ({model_shape[k]})' for k in keys)}; "
        f"QA {qa.get('epochs')} epochs x batch {qa['batch_size']} at {qa['max_length']}/{qa['doc_stride']}, "
        f"sentiment {sent.get('epochs')} epochs x batch {sent['batch_size']} at {sent['max_length']}; "
        f"attack {config['attack']['sample_size']} reviews, K={config['attack']['candidates']}, "
        f"masked-LM {config['attack']['masked_lm']}; ood.train_questions {config['ood']['train_questions']}"
    )
    print(
        f"data: SQuAD 2.0 train {sizes['squad_train']:,} q "
        f"(~{sizes['squad_train'] * WINDOWS_PER_QUESTION['squad_train']:,.0f} windows), "
        f"dev {sizes['squad_dev']:,} q (~{sizes['squad_dev'] * WINDOWS_PER_QUESTION['squad_dev']:,.0f} windows); "
        f"IMDB {sizes['imdb_train']:,}/{sizes['imdb_test']:,}; NewsQA {sizes['newsqa']:,} q; tokens per window "
        + (
            "= max_length (--padded)"
            if args.padded
            else f"SQuAD {SQUAD_WINDOW_TOKENS:.0f} (first {SQUAD_FIRST_WINDOW_TOKENS:.0f}), "
            f"NewsQA {NEWSQA_FIRST_WINDOW_TOKENS:.0f}, "
            f"IMDB {IMDB_TOKENS_AT_128:.0f} (dynamic padding)"
        )
    )
    queries, calls = attack_queries(candidates=config["attack"]["candidates"])
    print(
        f"attack: ~{queries:.0f} target queries in ~{calls:.0f} batches "
        f"and {1 + ATTACK_KEPT_SWAPS} masked-LM reads per review "
        f"(ASSUMED: {ATTACK_RANKED_WORDS} ranked words, {ATTACK_TRIED_FRACTION:.0%} of them tried), "
        f"{ATTACK_HOST_SECONDS_PER_QUERY * 1e3:.0f} ms of textattack host work per query"
    )
    print(
        f"GPUs: A100 {GPUS['A100'] / 1e12:.0f}, H100 {GPUS['H100'] / 1e12:.0f} TFLOP/s dense bf16 "
        f"at {args.mfu:.0%} MFU "
        f"(>= {GPU_LAUNCH_SECONDS_PER_LAYER * 1e6:.0f} us per layer per forward call)"
    )

    most = qa["batch_size"]
    print(
        f"\n== calibration: random-weight BertForQuestionAnswering, fp32, sequences of {args.length} tokens "
        f"(batch {args.batch} for base, more for smaller shapes, up to {most}), "
        f"best of {timed} after a warm-up"
    )
    print(
        f"load average before: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores; "
        f"GFLOP/s by the wall clock and by CPU time per thread (--clock {args.clock} is used below)"
    )
    print(
        f"{'shape':<8}{'params':>9}{'batch':>7}{'fwd+bwd s':>11}{'wall':>8}{'cpu':>8}"
        f"{'forward s':>11}{'wall':>8}{'cpu':>8}"
    )
    measured = {}
    for name in shapes:
        began = time.perf_counter()
        batch = calibration_batch(SHAPES[name], args.batch, args.length, most)
        measured[name] = m = measure(SHAPES[name], batch, args.length, timed)
        print(
            f"{name:<8}{params(SHAPES[name], 'qa') / 1e6:>8.1f}M{batch:>7}{m['train_s']:>11.2f}"
            f"{m['train_wall'] / 1e9:>8.1f}"
            f"{m['train'] / 1e9:>8.1f}{m['forward_s']:>11.2f}{m['forward_wall'] / 1e9:>8.1f}{m['forward'] / 1e9:>8.1f}"
            f"   ({time.perf_counter() - began:.0f}s)",
            flush=True,
        )
        if args.clock == "wall":
            m["train"], m["forward"] = m["train_wall"], m["forward_wall"]
    print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    # FAISS's flat inner-product search is one big matrix multiply: the best forward rate.
    faiss_rate = max(m["forward"] for m in measured.values())
    mlm_rate = measured[closest(mlm_shape, measured)]["forward"]

    work = {k: stage_work(config, k, SHAPES[model_shape[k]], mlm_shape, sizes, args.padded) for k in keys}
    here = {}
    for k in keys:
        ref = measured[closest(SHAPES[model_shape[k]], measured)]
        here[k] = {"train": ref["train"], "forward": ref["forward"], "faiss": faiss_rate}
    stages = list(DEPENDS)
    cols = ["this machine", *GPUS]
    durations = {col: {} for col in cols}
    for k in keys:
        for stage, w in work[k].items():
            durations["this machine"][(k, stage)] = hours_on(w, here[k], mlm_rate)
            for gpu, peak in GPUS.items():
                durations[gpu][(k, stage)] = gpu_hours(w, peak, args.mfu) or hours_on(w, here[k])

    print(
        f"\n== work and hours per stage and model (this machine: wall hours on all {torch.get_num_threads()} threads "
        f"at the rate of the closest timed shape; GPU: one GPU per job; neighbours+ood run on the CPU everywhere)"
    )
    print(f"{'stage':<20}{'model':<14}{'timed as':<9}{'PFLOP':>10}" + "".join(f"{c + ' h':>16}" for c in cols))
    for stage in stages:
        rows = [k for k in keys if stage in work[k]]
        for k in rows:
            print(
                f"{stage:<20}{k:<14}{closest(SHAPES[model_shape[k]], measured):<9}"
                f"{work[k][stage].total_flops / 1e15:>10.3f}"
                + "".join(f"{fmt_h(durations[c][(k, stage)]):>16}" for c in cols)
            )
        print(
            f"{'':<20}{'all':<14}{'':<9}{sum(work[k][stage].total_flops for k in rows) / 1e15:>10.3f}"
            + "".join(f"{fmt_h(sum(durations[c][(k, stage)] for k in rows)):>16}" for c in cols)
        )
    print(f"\n{'per model (all stages)':<34}{'PFLOP':>9}" + "".join(f"{c + ' h':>16}" for c in cols))
    for k in keys:
        print(
            f"{k:<34}{sum(w.total_flops for w in work[k].values()) / 1e15:>9.3f}"
            + "".join(f"{fmt_h(sum(v for j, v in durations[c].items() if j[0] == k)):>16}" for c in cols)
        )
    total_flops = sum(w.total_flops for k in keys for w in work[k].values())
    totals = {c: sum(durations[c].values()) for c in cols}
    print(
        f"{'all jobs one after another':<34}{total_flops / 1e15:>9.3f}"
        + "".join(f"{fmt_h(totals[c]):>16}" for c in cols)
        + f"   (this machine: {totals['this machine'] / 24:,.0f} days)"
    )

    print("\n== wall time, hours")
    print(f"{'':<58}" + "".join(f"{c:>10}" for c in GPUS))
    on_gpu = {j: work[j[0]][j[1]].kind != "faiss" for j in durations["A100"]}
    gpu_total = {c: sum(v for j, v in durations[c].items() if on_gpu[j]) for c in GPUS}
    cp = {c: critical_path(durations[c]) for c in GPUS}
    lines = [
        ("GPU-hours in all (jobs one after another on one GPU)", gpu_total),
        (
            f"one {GPUS_PER_NODE}-GPU node, lower bound max(critical path, total/{GPUS_PER_NODE})",
            {c: max(cp[c], gpu_total[c] / GPUS_PER_NODE) for c in GPUS},
        ),
        (
            f"one {GPUS_PER_NODE}-GPU node, list schedule (longest chain first)",
            {c: list_schedule(durations[c], on_gpu, GPUS_PER_NODE) for c in GPUS},
        ),
        ("Slurm fan-out, a GPU per job: critical path", cp),
    ]
    for label, values in lines:
        print(f"{label:<58}" + "".join(f"{fmt_h(values[c]):>10}" for c in GPUS))
    for c in GPUS:
        chain = critical_chain(durations[c])
        print(
            f"critical path on {c}: {chain[0][0]}: "
            + " -> ".join(f"{s} {fmt_h(durations[c][(m, s)])}" for m, s in chain)
        )
    print(
        f"on this machine, jobs one after another: {totals['this machine']:,.0f} h "
        f"= {totals['this machine'] / 24:,.0f} days "
        f"({totals['this machine'] * os.cpu_count():,.0f} core-hours)"
    )

    print(
        "\n== disk (fp32 safetensors; embeddings n x hidden float32 + ids; checkpoints: model + AdamW moments, "
        "two copies while one replaces the other, removed at the end)"
    )
    disk = {k: disk_bytes(config, k, SHAPES[model_shape[k]], sizes) for k in keys if k != cfg.seed_baseline(config)}
    parts = list(next(iter(disk.values())))
    headers = [
        "hub cache", "models", "finetune_qa", "finetune_sent", "ckpt peak*", "embed", "neighbours", "pred+attack"
    ]
    print(f"{'model':<10}" + "".join(f"{p:>14}" for p in headers) + f"{'kept':>12}")
    kept = {}
    for k, d in disk.items():
        kept[k] = sum(v for p, v in d.items() if "transient" not in p)
        print(f"{k:<10}" + "".join(f"{fmt_b(d[p]):>14}" for p in parts) + f"{fmt_b(kept[k]):>12}")
    print(
        f"{'all':<10}"
        + "".join(f"{fmt_b(sum(d[p] for d in disk.values())):>14}" for p in parts)
        + f"{fmt_b(sum(kept.values())):>12}"
    )
    print(
        f"plus the data splits (~{fmt_b(DATA_BYTES)}) once; kept in all ~{fmt_b(sum(kept.values()) + DATA_BYTES)}, "
        f"and up to {fmt_b(sum(d['checkpoints (transient)'] for d in disk.values()))} more while every fine-tune "
        "holds a checkpoint at once (* transient, not kept)"
    )
    print(
        "not counted: downloads and data preparation, tokenising, job start-up (~10 s a job), AdamW's updates, "
        "the pairwise comparisons and figures (seconds), bf16 autocast on a CPU with bf16 units (~2-4x faster)"
    )


if __name__ == "__main__":
    main()
