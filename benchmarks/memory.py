"""Peak memory of the embed and neighbour stages on 50,000 generated questions.

The embed stage keeps only token ids and one float32 vector per data point in memory and
runs the encoder batch by batch; the neighbour stage keeps n x K row numbers and
similarities. This script generates the questions with the demo's own generator, embeds
their first windows with a small BERT (the demo's `small` shape, random weights: memory
and speed do not depend on the weights), searches every point's K nearest neighbours as
the workflow does, and prints the throughput of each step and the process's peak resident
memory after each (target: under 2 GiB).

    python benchmarks/memory.py [--questions 50000] [--k 50] [--batch-size 128]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from miniature import data, demo_data, embed, knn
from miniature.pretraining import new_bert
from miniature.tokenizer import train_tokenizer

MAX_LENGTH, DOC_STRIDE = 96, 32


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=50_000)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    torch.manual_seed(0)

    began = time.perf_counter()
    squad = demo_data.generate_qa(args.questions, seed=0, prefix="m")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "questions.json"
        data.write_json(squad, path)
        del squad
        dataset = data.load_qa(path)  # memory-mapped Arrow table, as the workflow reads it
    contexts = list(dict.fromkeys(dataset.select(range(min(2000, len(dataset))))["context"]))
    tokenizer = train_tokenizer(contexts, vocab_size=3000, max_length=128)
    encoder = new_bert(tokenizer, layers=1, hidden=64, heads=4, intermediate=256, max_length=128).bert
    print(f"{len(dataset)} generated questions, tokenizer and model in {time.perf_counter() - began:.0f} s; "
          f"{torch.get_num_threads()} threads; peak so far {peak_mib():.0f} MiB", flush=True)

    began = time.perf_counter()
    windows = embed.first_windows(tokenizer, dataset, MAX_LENGTH, DOC_STRIDE)
    tokenised = time.perf_counter() - began
    began = time.perf_counter()
    vectors = embed.cls_vectors(encoder, windows, tokenizer.pad_token_id, args.batch_size)
    embedded = time.perf_counter() - began
    print(f"embed: first windows of {len(windows)} questions tokenised in {tokenised:.0f} s, "
          f"{len(windows) / embedded:.0f} vectors/s; peak {peak_mib():.0f} MiB", flush=True)
    del windows

    began = time.perf_counter()
    rows, similarities = knn.neighbours(vectors, args.k)
    searched = time.perf_counter() - began
    print(f"neighbours: K={args.k} for {len(vectors)} points in {searched:.0f} s "
          f"({len(vectors) / searched:.0f} points/s); peak {peak_mib():.0f} MiB")
    peak = peak_mib()
    print(f"peak resident memory {peak:.0f} MiB = {peak / 1024:.2f} GiB "
          f"({'under' if peak < 2048 else 'OVER'} the 2 GiB target)")


if __name__ == "__main__":
    main()
