"""Speed of the embed stage against a naive loop, and as a fraction of the machine's peak.

A BERT-base-shaped encoder (random weights: speed does not depend on them) embeds the first
windows (at most 128 tokens) of real SQuAD 2.0 dev questions, in one run:

* ours: ``miniature.embed.cls_vectors``: batches of similar length, dynamic padding;
* naive: one window at a time (batch 1), in file order, padded to the full 128 tokens.

The two paths and the fp32 matrix-multiply peak are measured in alternating rounds, and
each is reported at its best round (a shared machine slows some rounds down). Prints
sequences per second, the ratio, the fraction of the peak that each path reaches on the
useful (unpadded) work, and the largest difference between the two paths' vectors
(padding must not change them).

    python benchmarks/embed.py [--questions 32] [--rounds 3] [--batch-size 64] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import torch
from predict import SHAPES, SQUAD_DEV, forward_flops, gemm_peak
from transformers import BertConfig, BertModel

from miniature import data, embed
from miniature.tokenizer import train_tokenizer

MAX_LENGTH, DOC_STRIDE = 128, 32


@torch.inference_mode()
def naive_vectors(encoder, windows: list[dict], pad_id: int) -> np.ndarray:
    """Batch 1, in the given order, every window padded to MAX_LENGTH."""
    rows = []
    for w in windows:
        n = len(w["input_ids"])
        input_ids = torch.full((1, MAX_LENGTH), pad_id, dtype=torch.long)
        token_type_ids = torch.zeros((1, MAX_LENGTH), dtype=torch.long)
        attention_mask = torch.zeros((1, MAX_LENGTH), dtype=torch.long)
        input_ids[0, :n] = torch.tensor(w["input_ids"])
        token_type_ids[0, :n] = torch.tensor(w["token_type_ids"])
        attention_mask[0, :n] = 1
        out = encoder(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask)
        rows.append(out.last_hidden_state[0, 0].numpy())
    return np.stack(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not SQUAD_DEV.exists():
        sys.exit(f"needs the real SQuAD 2.0 dev set at {SQUAD_DEV}")
    dev = data.load_qa(SQUAD_DEV)
    dataset = dev.shuffle(seed=0).select(range(args.questions))
    texts = list(dict.fromkeys(dev["context"])) + list(dev["question"])
    tokenizer = train_tokenizer(texts, vocab_size=30522, max_length=512)
    windows = embed.first_windows(tokenizer, dataset, MAX_LENGTH, DOC_STRIDE)
    lengths = [len(w["input_ids"]) for w in windows]
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), max_position_embeddings=512, **SHAPES["base"])
    encoder = BertModel(config, add_pooling_layer=False).eval()
    # Useful work: the encoder on the unpadded windows (forward_flops also counts a QA head,
    # 4 x hidden FLOPs per token, under 0.01% of the total).
    flops = forward_flops(config, lengths)
    n = len(windows)
    print(f"{n} SQuAD 2.0 dev questions, first windows of at most {MAX_LENGTH} tokens (mean {np.mean(lengths):.0f}), "
          f"BERT-base shape, {torch.get_num_threads()} threads, {flops / 1e12:.2f} TFLOP of useful work per pass")
    peaks, t_ours, t_naive = [], [], []
    for r in range(args.rounds):
        peaks.append(gemm_peak(torch.float32))
        began = time.perf_counter()
        ours = embed.cls_vectors(encoder, windows, tokenizer.pad_token_id, args.batch_size)
        t_ours.append(time.perf_counter() - began)
        began = time.perf_counter()
        naive = naive_vectors(encoder, windows, tokenizer.pad_token_id)
        t_naive.append(time.perf_counter() - began)
        print(f"round {r + 1}: peak {peaks[-1] / 1e9:.0f} GFLOP/s, ours {n / t_ours[-1]:.2f} seq/s, "
              f"naive {n / t_naive[-1]:.2f} seq/s", flush=True)
    peaks.append(gemm_peak(torch.float32))
    peak, t_ours, t_naive = max(peaks), min(t_ours), min(t_naive)
    print(f"fp32 matrix-multiply peak (best of {len(peaks)}): {peak / 1e9:.0f} GFLOP/s")
    print(f"{'path (best round)':<50}{'seq/s':>8}{'vs naive':>10}{'of peak':>9}")
    for name, seconds in ((f"ours (length-sorted, batch {args.batch_size}, dynamic padding)", t_ours),
                          ("naive (batch 1, padded to 128, unsorted)", t_naive)):
        print(f"{name:<50}{n / seconds:>8.2f}{t_naive / seconds:>9.2f}x{flops / seconds / peak:>8.0%}")
    print(f"largest difference between the two paths' vectors: {np.abs(ours - naive).max():.2e}")


if __name__ == "__main__":
    main()
