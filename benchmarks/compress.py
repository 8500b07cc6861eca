"""Inference speed of compressed models against their reference, side by side in one run.

results/models.csv reports each model's latency from its own predict job; on a shared machine
those jobs ran at different moments under different load. This script times the deployed
models of a finished run on the same test questions in one process, in interleaved rounds
(reference, A, B, ..., reference, A, B, ...), so that load changes hit all of them alike, and
prints ms per question and the speed-up over the reference.

    python benchmarks/compress.py --configfile configs/minilm.yaml [--questions 100] [--rounds 2]
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

import torch
import yaml
from transformers import AutoModelForQuestionAnswering

from miniature import config as cfg
from miniature import data, qa
from miniature.model_io import load_model, load_tokenizer


def deployed_model(config: dict, key: str) -> Path:
    """The folder of a model's fine-tuned QA model (as finetuned_model() in rules/common.smk)."""
    if key in cfg.compressed_at(config, "finetuned"):
        return Path("results/compress/qa") / key
    return Path("results/finetune/qa") / key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", type=Path, required=True)
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = cfg.validate_config(yaml.safe_load(args.configfile.read_text()))
    settings = cfg.finetune_settings(config, config["reference"])
    dataset = data.load_qa("results/data/qa/test.json").select(range(args.questions))
    keys = [config["reference"], *(k for k in config["models"] if k != config["reference"])]
    models = {k: load_model(AutoModelForQuestionAnswering, deployed_model(config, k)) for k in keys}
    tokenizer = load_tokenizer(deployed_model(config, config["reference"]))
    seconds = {k: [] for k in keys}
    for _ in range(args.rounds):
        for key in keys:
            began = time.perf_counter()
            qa.predict(models[key], tokenizer, dataset, settings["max_length"], settings["doc_stride"],
                       batch_size=config["predict"]["batch_size"], batch_tokens=config["predict"]["batch_tokens"])
            seconds[key].append(time.perf_counter() - began)
    reference = min(seconds[keys[0]])
    print(f"{args.questions} test questions, {args.threads} thread(s), best of {args.rounds} interleaved rounds")
    print(f"{'model':12s} {'ms/question':>12s} {'speed-up':>9s}")
    for key in keys:
        best = min(seconds[key])
        print(f"{key:12s} {1000 * best / args.questions:12.1f} {reference / best:9.2f}")


if __name__ == "__main__":
    main()
