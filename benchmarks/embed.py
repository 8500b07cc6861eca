"""Speed of the embed stage against a naive loop, and as a fraction of the machine's peak.

A BERT-base-shaped encoder (random weights: speed does not depend on them) embeds the first
windows (at most 128 tokens) of real SQuAD 2.0 dev questions, in one run:

* ours: ``miniature.embed.cls_vectors``: batches of similar length, dynamic padding;
* naive: one window at a time (batch 1), in file order, padded to the full 128 tokens.

Prints sequences per second, the ratio, the fraction of this machine's fp32 matrix-multiply
peak (measured in the same run, before and after; the higher one is used) that each path
reaches on the useful (unpadded) work, and the largest difference between the two paths'
vectors (padding must not change them).

    python benchmarks/embed.py [--questions 192] [--batch-size 64]
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

import numpy as np  # noqa: E402
import torch  # noqa: E402
from predict import SHAPES, SQUAD_DEV, forward_flops, gemm_peak  # noqa: E402
from transformers import BertConfig, BertModel  # noqa: E402

from miniature import data, embed  # noqa: E402
from miniature.models import train_tokenizer  # noqa: E402

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
    parser.add_argument("--questions", type=int, default=192)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
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
    print(f"{len(windows)} SQuAD 2.0 dev questions, first windows of at most {MAX_LENGTH} tokens "
          f"(mean {np.mean(lengths):.0f}), BERT-base shape, {torch.get_num_threads()} threads, "
          f"{flops / 1e12:.2f} TFLOP of useful work")
    peak_before = gemm_peak(torch.float32)
    began = time.perf_counter()
    ours = embed.cls_vectors(encoder, windows, tokenizer.pad_token_id, args.batch_size)
    t_ours = time.perf_counter() - began
    began = time.perf_counter()
    naive = naive_vectors(encoder, windows, tokenizer.pad_token_id)
    t_naive = time.perf_counter() - began
    peak = max(peak_before, gemm_peak(torch.float32))
    print(f"fp32 matrix-multiply peak: {peak / 1e9:.0f} GFLOP/s (before {peak_before / 1e9:.0f})")
    print(f"{'path':<44}{'seq/s':>8}{'vs naive':>10}{'of peak':>9}")
    n = len(windows)
    for name, seconds in ((f"ours (length-sorted, batch {args.batch_size}, dynamic padding)", t_ours),
                          ("naive (batch 1, padded to 128, unsorted)", t_naive)):
        print(f"{name:<44}{n / seconds:>8.2f}{t_naive / seconds:>9.2f}x{flops / seconds / peak:>8.0%}")
    print(f"largest difference between the two paths' vectors: {np.abs(ours - naive).max():.2e}")


if __name__ == "__main__":
    main()
