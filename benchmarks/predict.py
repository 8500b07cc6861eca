"""Speed of the predict stage against the transformers question-answering pipeline.

Same model, same 500 real SQuAD 2.0 dev questions, in one run: the pipeline at batch size 1
and 32, our batched, length-sorted path with the workflow's default batching (at most
predict.batch_tokens padded tokens per forward pass) and with plain batches of 32, and in
bfloat16 autocast. Prints questions per second, the ratios, the fraction of this machine's
matrix-multiply peak (measured in the same run) that each path reaches, and how many answers
agree. With --repeats N every path runs N times, interleaved, and its best time counts (the
machines are shared). Random weights are fine for speed; the answer comparison uses the
pipeline's rules on both sides (max_answer_len 15, 12 candidate spans per window,
handle_impossible_answer=True).

    python benchmarks/predict.py [--questions 500] [--shapes base mini] [--repeats 1] [--no-bf16]
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
from transformers import BertConfig, BertForQuestionAnswering, pipeline
from transformers.utils import logging as hf_logging

from miniature import config as cfg
from miniature import data, qa
from miniature.tokenizer import train_tokenizer

SQUAD_DEV = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "squad2-dev" / "dev-v2.0.json.gz"
SHAPES = {"base": dict(num_hidden_layers=12, hidden_size=768, num_attention_heads=12, intermediate_size=3072),
          "mini": dict(num_hidden_layers=4, hidden_size=256, num_attention_heads=4, intermediate_size=1024)}
MAX_LENGTH, DOC_STRIDE, MAX_ANSWER, N_BEST = 384, 128, 15, 12
# The workflow's own batching defaults, from the schema.
PREDICT = {key: field.get("default") for key, field in cfg.load_schema()["properties"]["predict"]["properties"].items()}


def gemm_peak(dtype: torch.dtype, n: int = 2048, repeats: int = 10) -> float:
    """FLOP/s of a square matrix multiply on all threads: the ceiling for a forward pass."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    for _ in range(3):
        a @ b
    began = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - began)


def forward_flops(config: BertConfig, lengths: list[int]) -> float:
    """Multiply-add FLOPs of the encoder on windows of the given (unpadded) lengths."""
    h, layers, inter = config.hidden_size, config.num_hidden_layers, config.intermediate_size
    per_token = layers * 2 * (4 * h * h + 2 * h * inter) + 2 * h * 2  # projections, feed-forward, QA head
    return sum(n * per_token + layers * 4 * n * n * h for n in lengths)


def run_pipeline(pipe, dataset, batch_size: int) -> tuple[dict, float]:
    began = time.perf_counter()
    out = pipe(question=list(dataset["question"]), context=list(dataset["context"]), batch_size=batch_size,
               max_seq_len=MAX_LENGTH, doc_stride=DOC_STRIDE, max_answer_len=MAX_ANSWER, handle_impossible_answer=True)
    seconds = time.perf_counter() - began
    out = out if isinstance(out, list) else [out]
    return {qid: o["answer"] for qid, o in zip(dataset["id"], out)}, seconds


def run_ours(model, tokenizer, dataset, batch_size: int, batch_tokens: int | None, bf16: bool) -> tuple[dict, float]:
    began = time.perf_counter()
    answers, _ = qa.predict(model, tokenizer, dataset, MAX_LENGTH, DOC_STRIDE, batch_size=batch_size,
                            batch_tokens=batch_tokens, bf16=bf16, n_best=N_BEST, max_answer_length=MAX_ANSWER)
    return answers, time.perf_counter() - began


def agreement(a: dict, b: dict) -> float:
    return sum(a[q] == b[q] for q in a) / len(a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--repeats", type=int, default=1, help="runs of each path, interleaved; the best counts")
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True,
                        help="also time bfloat16 autocast "
                             "(--no-bf16 on CPUs without bf16 units, where it is emulated and slow)")
    args = parser.parse_args()
    if not SQUAD_DEV.exists():
        sys.exit(f"needs the real SQuAD 2.0 dev set at {SQUAD_DEV}")
    hf_logging.set_verbosity_error()
    dev = data.load_qa(SQUAD_DEV)
    dataset = dev.shuffle(seed=0).select(range(args.questions))
    # A BERT-sized WordPiece vocabulary trained on the dev texts (no hub download needed).
    texts = list(dict.fromkeys(dev["context"])) + list(dev["question"])
    tokenizer = train_tokenizer(texts, vocab_size=30522, max_length=512)
    torch.manual_seed(0)
    print(f"{args.questions} SQuAD 2.0 dev questions, windows of {MAX_LENGTH} tokens (stride {DOC_STRIDE}), "
          f"{torch.get_num_threads()} threads")
    peak32 = gemm_peak(torch.float32)
    peak16 = gemm_peak(torch.bfloat16) if args.bf16 else None
    print(f"matrix-multiply peak: fp32 {peak32 / 1e9:.0f} GFLOP/s"
          + (f", bf16 {peak16 / 1e9:.1f} GFLOP/s" if args.bf16 else ""))
    lengths = [len(w["input_ids"]) for w in qa.eval_features(tokenizer, dataset, MAX_LENGTH, DOC_STRIDE).inputs]
    default = f"ours fp32 (<= {PREDICT['batch_tokens']} tokens)"
    for shape in args.shapes:
        config = BertConfig(vocab_size=len(tokenizer), max_position_embeddings=512, **SHAPES[shape])
        model = BertForQuestionAnswering(config).eval()
        pipe = pipeline("question-answering", model=model, tokenizer=tokenizer, device="cpu")
        flops = forward_flops(config, lengths)
        paths = {"pipeline, batch 1": (lambda pipe=pipe: run_pipeline(pipe, dataset, 1), peak32),
                 "pipeline, batch 32": (lambda pipe=pipe: run_pipeline(pipe, dataset, 32), peak32),
                 default: (lambda model=model: run_ours(model, tokenizer, dataset, PREDICT["batch_size"],
                                            PREDICT["batch_tokens"], bf16=False), peak32),
                 "ours fp32 (batch 32)": (lambda model=model: run_ours(model, tokenizer, dataset, 32, None, bf16=False),
                                          peak32)}
        bf16_path = f"ours bf16 (<= {PREDICT['batch_tokens']} tokens)"
        if args.bf16:
            paths[bf16_path] = (
                lambda model=model: run_ours(model, tokenizer, dataset, PREDICT["batch_size"], PREDICT["batch_tokens"],
                                             bf16=True),
                peak16)
        answers, seconds = {}, {name: [] for name in paths}
        for _ in range(args.repeats):
            for name, (run, _peak) in paths.items():
                answers[name], took = run()
                seconds[name].append(took)
        n, base = args.questions, min(seconds["pipeline, batch 1"])
        print(f"\n== BERT-{shape} shape ({sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters, "
              f"{len(lengths)} windows, {flops / 1e12:.2f} TFLOP of useful work, best of {args.repeats})")
        print(f"{'path':<30}{'q/s':>8}{'vs pipeline bs1':>17}{'of peak':>9}")
        for name, (_run, peak) in paths.items():
            best = min(seconds[name])
            print(f"{name:<30}{n / best:>8.1f}{base / best:>16.2f}x{flops / best / peak:>8.0%}")
        ours = answers[default]
        print(f"answers identical: {default} vs pipeline batch 1 {agreement(ours, answers['pipeline, batch 1']):.1%}, "
              f"pipeline batch 32 vs batch 1 "
              f"{agreement(answers['pipeline, batch 32'], answers['pipeline, batch 1']):.1%}"
              + (f", ours bf16 vs ours fp32 {agreement(answers[bf16_path], ours):.1%}" if args.bf16 else ""))


if __name__ == "__main__":
    main()
