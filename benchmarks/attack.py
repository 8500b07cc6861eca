"""Speed of the attack stage for one target, against textattack's stock model wrapper.

Same target, same attack masked-LM, same examples, in one run: the attack as the workflow
runs it (miniature.attack.build_attack: the target's queries in batches with dynamic
padding, the masked-LM run once per text) and the same recipe with textattack's stock
parts (HuggingFaceModelWrapper, which pads every query to max_length, batches of 32, and
a masked-LM run for every word position tried). Prints examples per second, target
queries per example, the share of attack time spent in target-model forward passes and
in masked-LM forward passes, the speed-up, and whether both give the same outcomes.

By default it attacks the demo's reference model with the demo's attack masked-LM; run
the demo first (snakemake --cores 8 results/table3.csv), or point it at other folders:

    python benchmarks/attack.py [--target results/finetune/sentiment/large]
        [--masked-lm results/models/built/large] [--sample results/data/sentiment/attack_sample.jsonl]
        [--examples 40] [--max-length 128] [--candidates 3] [--profile]

The demo's models are tiny (3 layers, width 96), so a forward pass costs about as much
as textattack's own per-step Python work. ``--random-target 6x384`` attacks instead a
randomly initialised classifier of that shape (layers x width, with the target's
tokenizer) to show where the time goes for a model of a more usual size; its accuracy
and outcomes mean nothing, only its timings do.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import os
import pstats
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification

from miniature import attack, data, pretraining
from miniature.model_io import load_model, load_tokenizer


class Timed:
    """Wraps a module's forward and adds up its wall time and calls."""

    def __init__(self, module: torch.nn.Module):
        self.seconds, self.calls, self._forward = 0.0, 0, module.forward
        functools.update_wrapper(self, module.forward)  # callers still see forward's signature
        module.forward = self

    def __call__(self, *args, **kwargs):
        began = time.perf_counter()
        try:
            return self._forward(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - began
            self.calls += 1


def random_classifier(tokenizer, shape: str, max_length: int):
    """A randomly initialised sentence classifier of ``layers x width`` (timings only)."""
    layers, width = (int(n) for n in shape.lower().split("x"))
    torch.manual_seed(0)
    built = pretraining.new_bert(tokenizer, layers=layers, hidden=width, heads=max(1, width // 64),
                                 intermediate=4 * width, max_length=max_length)
    config = built.config
    config.num_labels = 2
    return AutoModelForSequenceClassification.from_config(config).eval()


def run(variant: str, args, examples: list[dict], profile: bool) -> dict:
    tokenizer = load_tokenizer(args.target)
    if args.random_target:
        classifier = random_classifier(tokenizer, args.random_target, args.max_length)
    else:
        classifier = load_model(AutoModelForSequenceClassification, args.target)
    masked_lm = load_model(AutoModelForMaskedLM, args.masked_lm)
    target_time, mlm_time = Timed(classifier), Timed(masked_lm)
    recipe, wrapper = attack.build_attack(classifier, tokenizer, masked_lm, load_tokenizer(args.masked_lm),
                                          candidates=args.candidates, max_length=args.max_length,
                                          batch_size=args.batch_size)
    if variant == "stock":
        from textattack.models.wrappers import HuggingFaceModelWrapper

        tokenizer.model_max_length = args.max_length  # the stock wrapper pads to this
        recipe.goal_function.model = HuggingFaceModelWrapper(classifier, tokenizer)
        recipe.goal_function.batch_size = 32  # textattack's default model_batch_size
        recipe.transformation._language_model = masked_lm  # without MemoizedMaskedLM
    profiler = cProfile.Profile() if profile else None
    began = time.perf_counter()
    if profiler:
        profiler.enable()
    rows = attack.attack_examples(recipe, examples)
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - began
    if profiler:
        print(f"\n--- profile: {variant} (by own time) ---")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    attacked = [r for r in rows if r["outcome"] != "skipped"]
    return {"rows": rows, "seconds": seconds, "examples_per_s": len(rows) / seconds,
            "queries": sum(r["queries"] for r in attacked) / max(1, len(attacked)),
            "target_share": target_time.seconds / seconds, "mlm_share": mlm_time.seconds / seconds,
            "target_calls": target_time.calls, "mlm_calls": mlm_time.calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="results/finetune/sentiment/large")
    parser.add_argument("--masked-lm", default="results/models/built/large")
    parser.add_argument("--sample", default="results/data/sentiment/attack_sample.jsonl")
    parser.add_argument("--examples", type=int, default=40)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--candidates", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="print the functions that take the most time")
    parser.add_argument("--random-target", metavar="LAYERSxWIDTH",
                        help="attack a randomly initialised classifier of this shape (timings only), e.g. 6x384")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    examples = list(data.load_sentiment(args.sample))[: args.examples]
    target = f"random {args.random_target} classifier" if args.random_target else args.target
    print(f"target {target}, attack masked-LM {args.masked_lm}, {len(examples)} examples, "
          f"K={args.candidates}, max_length {args.max_length}, {args.threads} thread(s)")
    results = {variant: run(variant, args, examples, args.profile) for variant in ("stock", "ours")}
    print(f"\n{'':>6} {'examples/s':>11} {'queries/example':>16} {'target fwd share':>17} {'masked-LM share':>16} "
          f"{'target calls':>13} {'masked-LM calls':>16}")
    for variant, r in results.items():
        print(f"{variant:>6} {r['examples_per_s']:11.3f} {r['queries']:16.1f} {r['target_share']:17.1%} "
              f"{r['mlm_share']:16.1%} {r['target_calls']:13d} {r['mlm_calls']:16d}")
    ours, stock = results["ours"], results["stock"]
    same = sum(a["outcome"] == b["outcome"] and a["perturbed_text"] == b["perturbed_text"]
               for a, b in zip(ours["rows"], stock["rows"]))
    print(f"\nspeed-up ours/stock: {ours['examples_per_s'] / stock['examples_per_s']:.2f}x; "
          f"same outcome and perturbed text on {same}/{len(examples)} examples")
    outcomes = [r["outcome"] for r in ours["rows"]]
    print("outcomes (ours):", {o: outcomes.count(o) for o in sorted(set(outcomes))})


if __name__ == "__main__":
    main()
