"""Tiny stand-ins for the hub repositories that configs/paper.yaml pins, in their real layouts.

Each model repository holds the files the real one holds at its pinned commit (as far as the
loading code looks at them), with the real ``config.json`` keys, ``model_type`` and weight
names but tiny random weights (a few layers of width 16-48) and one small shared uncased
WordPiece vocabulary; each dataset repository holds a few hundred rows made by
``miniature.demo_data``, as parquet files in the real folder layout, with a README whose YAML
header declares the configs and data files as the real one does.

What the real repositories hold (the facts this module copies):

- ``google-bert/bert-{base,large}-uncased``: ``config.json`` (``BertForMaskedLM``, model_type
  bert), ``model.safetensors`` and ``pytorch_model.bin`` with the original checkpoint's names
  (``bert.*`` and ``cls.*`` including the next-sentence head, LayerNorm ``gamma``/``beta``),
  ``vocab.txt``, ``tokenizer.json``, ``tokenizer_config.json``.
- ``distilbert/distilbert-base-uncased``: DistilBERT's own config keys (dim, n_layers,
  n_heads, hidden_dim, ...), ``DistilBertForMaskedLM`` weights (``distilbert.*``,
  ``vocab_transform``, ``vocab_layer_norm``, ``vocab_projector``), the same tokenizer files.
- ``google/bert_uncased_L-{8,4,2}_H-*``: the TF release's ``bert_config.json`` keys as
  ``config.json`` (no model_type, no architectures: transformers recognises BERT by the
  repository name), ``vocab.txt``, no tokenizer files; weights ``pytorch_model.bin`` only for
  L-8 (medium) and L-4 (mini), ``model.safetensors`` too for L-2 (tiny).
- ``rajpurkar/squad_v2``: config ``squad_v2``, ``squad_v2/{train,validation}-00000-of-00001.parquet``.
- ``stanfordnlp/imdb``: config ``plain_text``, ``plain_text/{train,test,unsupervised}-00000-of-00001.parquet``
  (label a ClassLabel neg/pos; -1 in unsupervised).
- ``lucadiliello/newsqa``: MRQA 2019's NewsQA, ``data/{train,validation}-00000-of-00001.parquet``
  with columns context, question, answers (strings), key, labels ({start, end} character
  spans, end inclusive); every question answerable.
"""

from __future__ import annotations

import io
import json
import random
from collections import OrderedDict

import yaml

from hub.server import HubRepo

NEWSQA = ("lucadiliello/newsqa", "728e52920b8e4ffcfaad93fa47556f26a1d82546")

# Model repository -> (family, shape, weight files). Shapes are tiny but differ, largest first.
MODELS = {
    "google-bert/bert-large-uncased": ("google-bert", dict(layers=3, hidden=48, heads=2, intermediate=96),
                                       ("model.safetensors", "pytorch_model.bin")),
    "google-bert/bert-base-uncased": ("google-bert", dict(layers=2, hidden=32, heads=2, intermediate=64),
                                      ("model.safetensors", "pytorch_model.bin")),
    "distilbert/distilbert-base-uncased": ("distilbert", dict(layers=2, hidden=32, heads=2, intermediate=64),
                                           ("model.safetensors", "pytorch_model.bin")),
    "google/bert_uncased_L-8_H-512_A-8": ("google-small", dict(layers=2, hidden=32, heads=2, intermediate=64),
                                          ("pytorch_model.bin",)),
    "google/bert_uncased_L-4_H-256_A-4": ("google-small", dict(layers=1, hidden=32, heads=2, intermediate=64),
                                          ("pytorch_model.bin",)),
    "google/bert_uncased_L-2_H-128_A-2": ("google-small", dict(layers=1, hidden=16, heads=2, intermediate=32),
                                          ("model.safetensors", "pytorch_model.bin")),
}
GITATTRIBUTES = "".join(f"*{s} filter=lfs diff=lfs merge=lfs -text\n"
                        for s in (".bin", ".h5", ".msgpack", ".ot", ".parquet", ".safetensors")).encode()
SPECIAL = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]


# --- the shared vocabulary --------------------------------------------------------------------

def build_vocab(texts: list[str], size: int = 1200) -> list[str]:
    """An uncased WordPiece vocabulary in BERT's order: [PAD], [unused0-98], [UNK], [CLS],
    [SEP], [MASK] (ids 0 and 100-103, as in the real vocab.txt), then what the texts need."""
    from tokenizers import BertWordPieceTokenizer

    trainer = BertWordPieceTokenizer(lowercase=True, strip_accents=True, clean_text=True)
    trainer.train_from_iterator(texts, vocab_size=size, min_frequency=1,
                                special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    learnt = sorted(trainer.get_vocab().items(), key=lambda kv: kv[1])
    return SPECIAL + [token for token, _ in learnt if token not in SPECIAL]


def tokenizer_json(vocab_txt: bytes, folder) -> bytes:
    from transformers import BertTokenizerFast

    (folder / "vocab.txt").write_bytes(vocab_txt)
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    return tokenizer.backend_tokenizer.to_str(pretty=True).encode()


# --- models ------------------------------------------------------------------------------------

def model_config(family: str, shape: dict, vocab_size: int) -> dict:
    """config.json as the real repository writes it, at a tiny shape."""
    if family == "google-bert":
        return {"architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1,
                "gradient_checkpointing": False, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
                "hidden_size": shape["hidden"], "initializer_range": 0.02,
                "intermediate_size": shape["intermediate"], "layer_norm_eps": 1e-12,
                "max_position_embeddings": 512, "model_type": "bert",
                "num_attention_heads": shape["heads"], "num_hidden_layers": shape["layers"], "pad_token_id": 0,
                "position_embedding_type": "absolute", "transformers_version": "4.6.0.dev0",
                "type_vocab_size": 2, "use_cache": True, "vocab_size": vocab_size}
    if family == "distilbert":
        return {"activation": "gelu", "architectures": ["DistilBertForMaskedLM"], "attention_dropout": 0.1,
                "dim": shape["hidden"], "dropout": 0.1, "hidden_dim": shape["intermediate"],
                "initializer_range": 0.02, "max_position_embeddings": 512, "model_type": "distilbert",
                "n_heads": shape["heads"], "n_layers": shape["layers"], "pad_token_id": 0, "qa_dropout": 0.1,
                "seq_classif_dropout": 0.2, "sinusoidal_pos_embds": False, "tie_weights_": True,
                "transformers_version": "4.10.0.dev0", "vocab_size": vocab_size}
    if family == "google-small":  # the TF release's bert_config.json
        return {"hidden_size": shape["hidden"], "hidden_act": "gelu", "initializer_range": 0.02,
                "vocab_size": vocab_size, "hidden_dropout_prob": 0.1, "num_attention_heads": shape["heads"],
                "type_vocab_size": 2, "max_position_embeddings": 512, "num_hidden_layers": shape["layers"],
                "intermediate_size": shape["intermediate"], "attention_probs_dropout_prob": 0.1}
    raise ValueError(family)


def model_weights(family: str, config: dict, seed: int) -> OrderedDict:
    """A random checkpoint under the real repository's weight names."""
    import torch
    from transformers import BertConfig, BertForPreTraining, DistilBertConfig, DistilBertForMaskedLM

    torch.manual_seed(seed)
    if family == "distilbert":
        model = DistilBertForMaskedLM(DistilBertConfig(**config))
        tied = {"vocab_projector.weight"}
    else:
        model = BertForPreTraining(BertConfig(**config))
        tied = {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"}
    state = OrderedDict()
    for name, tensor in model.state_dict().items():
        if name in tied or name.endswith("position_ids"):
            continue
        if family == "google-bert" and ".LayerNorm." in name:  # the 2018 checkpoint's names
            name = name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        state[name] = tensor.detach().clone().contiguous()
    return state


def model_repo(repo_id: str, sha: str, vocab: list[str], tmp, seed: int, pickle_only: bool = True) -> HubRepo:
    import torch
    from safetensors.torch import save as safetensors_bytes

    family, shape, weight_files = MODELS[repo_id]
    if not pickle_only and "model.safetensors" not in weight_files:
        weight_files = ("model.safetensors", *weight_files)
    vocab_txt = "".join(t + "\n" for t in vocab).encode()
    config = model_config(family, shape, len(vocab))
    state = model_weights(family, config, seed)
    files = {".gitattributes": GITATTRIBUTES, "config.json": (json.dumps(config, indent=2) + "\n").encode(),
             "vocab.txt": vocab_txt,
             "README.md": f"---\nlanguage: en\nlicense: apache-2.0\n---\n\n# {repo_id} (tiny stand-in)\n".encode()}
    if family != "google-small":
        files["tokenizer.json"] = tokenizer_json(vocab_txt, tmp)
        files["tokenizer_config.json"] = b'{"do_lower_case": true, "model_max_length": 512}\n'
    if "model.safetensors" in weight_files:
        files["model.safetensors"] = safetensors_bytes(dict(state), metadata={"format": "pt"})
    if "pytorch_model.bin" in weight_files:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        files["pytorch_model.bin"] = buffer.getvalue()
    return HubRepo("model", repo_id, sha, files)


# --- datasets ----------------------------------------------------------------------------------

def _parquet(rows: dict, features) -> tuple[bytes, int, int]:
    import datasets

    dataset = datasets.Dataset.from_dict(rows, features=features)
    buffer = io.BytesIO()
    dataset.to_parquet(buffer)
    return buffer.getvalue(), dataset.num_rows, dataset.data.nbytes


def _card(header: dict, title: str) -> bytes:
    return f"---\n{yaml.safe_dump(header, sort_keys=False)}---\n\n# {title} (tiny stand-in)\n".encode()


def _dataset_repo(repo_id: str, sha: str, config_name: str, folder: str, splits: dict, features) -> HubRepo:
    """A parquet dataset with one config whose split ``s`` is ``{folder}/{s}-00000-of-00001.parquet``."""
    files, split_info = {".gitattributes": GITATTRIBUTES}, []
    for split, rows in splits.items():
        data, n, nbytes = _parquet(rows, features)
        files[f"{folder}/{split}-00000-of-00001.parquet"] = data
        split_info.append({"name": split, "num_bytes": nbytes, "num_examples": n})
    info = {"features": _features_yaml(features)}
    if config_name != "default":
        info = {"config_name": config_name, **info}
    info.update(splits=split_info, download_size=sum(len(d) for d in files.values()),
                dataset_size=sum(s["num_bytes"] for s in split_info))
    config = {"config_name": config_name,
              "data_files": [{"split": s, "path": f"{folder}/{s}-*"} for s in splits]}
    if config_name != "default":
        config["default"] = True
    header = {"language": ["en"], "dataset_info": info, "configs": [config]}
    files["README.md"] = _card(header, repo_id)
    return HubRepo("dataset", repo_id, sha, files, card_data=header)


def _features_yaml(features) -> list:
    """Features as a dataset card's YAML header lists them (``datasets``' own conversion)."""
    from datasets import DatasetInfo

    return DatasetInfo(features=features)._to_yaml_dict()["features"]


def squad_rows(squad: dict) -> dict:
    rows = {"id": [], "title": [], "context": [], "question": [], "answers": []}
    for _a, article in enumerate(squad["data"]):
        for p, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                rows["id"].append(qa["id"])
                rows["title"].append(f"{article['title']}_{p // 4}")  # a few paragraphs per article
                rows["context"].append(paragraph["context"])
                rows["question"].append(qa["question"])
                rows["answers"].append({"text": [x["text"] for x in qa["answers"]],
                                        "answer_start": [x["answer_start"] for x in qa["answers"]]})
    return rows


def mrqa_rows(squad: dict, seed: str) -> dict:
    """SQuAD-layout questions as MRQA rows: answerable questions only, every answer string
    once, with all its occurrences as inclusive character spans; ``seed`` seeds the keys."""
    rng = random.Random(seed)
    rows = {"context": [], "question": [], "answers": [], "key": [], "labels": []}
    for article in squad["data"]:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                texts = list(dict.fromkeys(x["text"] for x in qa["answers"]))
                if not texts:
                    continue
                labels = []
                for text in texts:
                    starts = [i for i in range(len(context)) if context.startswith(text, i)]
                    labels.append({"start": starts, "end": [s + len(text) - 1 for s in starts]})
                rows["context"].append(context)
                rows["question"].append(qa["question"])
                rows["answers"].append(texts)
                rows["key"].append(f"{rng.getrandbits(128):032x}")
                rows["labels"].append(labels)
    return rows


def squad_v2_repo(repo_id, sha, sizes, seed):
    import datasets

    from miniature import demo_data

    features = datasets.Features({
        "id": datasets.Value("string"), "title": datasets.Value("string"), "context": datasets.Value("string"),
        "question": datasets.Value("string"),
        "answers": datasets.Sequence({"text": datasets.Value("string"), "answer_start": datasets.Value("int32")})})
    splits = {split: squad_rows(demo_data.generate_qa(n, seed, prefix=f"hub-{split}")) for split, n in sizes.items()}
    return _dataset_repo(repo_id, sha, "squad_v2", "squad_v2", splits, features)


def imdb_repo(repo_id, sha, sizes, seed):
    import datasets

    from miniature import demo_data

    features = datasets.Features({"text": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["neg", "pos"])})
    splits = {}
    for split, n in sizes.items():
        reviews = sorted(demo_data.generate_reviews(n, seed, prefix=f"hub-{split}"), key=lambda r: r["label"])
        labels = [-1 if split == "unsupervised" else r["label"] for r in reviews]  # IMDB's files: neg first
        splits[split] = {"text": [r["text"] for r in reviews], "label": labels}
    return _dataset_repo(repo_id, sha, "plain_text", "plain_text", splits, features)


def newsqa_repo(repo_id, sha, sizes, seed):
    import datasets

    from miniature import demo_data

    features = datasets.Features({
        "context": datasets.Value("string"), "question": datasets.Value("string"),
        "answers": datasets.Sequence(datasets.Value("string")), "key": datasets.Value("string"),
        "labels": [{"end": datasets.Sequence(datasets.Value("int64")),
                    "start": datasets.Sequence(datasets.Value("int64"))}]})
    splits = {split: mrqa_rows(demo_data.generate_match_reports(n, seed, prefix=f"hub-{split}"), f"{seed}-{split}")
              for split, n in sizes.items()}
    return _dataset_repo(repo_id, sha, "default", "data", splits, features)


DATASETS = {"rajpurkar/squad_v2": (squad_v2_repo, {"train": 240, "validation": 60}),
            "stanfordnlp/imdb": (imdb_repo, {"train": 120, "test": 40, "unsupervised": 20}),
            NEWSQA[0]: (newsqa_repo, {"train": 40, "validation": 40})}


def hub_sources(config: dict) -> dict[tuple[str, str], str]:
    """(repo type, id) -> pinned revision of every hub source a config names (models, the
    attack's masked-LM, data), checking that one id is never pinned to two commits."""
    sources = [("model", m["hub"]) for m in config["models"].values() if "hub" in m]
    masked_lm = config.get("attack", {}).get("masked_lm")
    if isinstance(masked_lm, dict) and "hub" in masked_lm:
        sources.append(("model", masked_lm["hub"]))
    sources += [("dataset", split["hub"]) for task in config["data"].values() for split in task.values()
                if "hub" in split]
    pins: dict[tuple[str, str], str] = {}
    for kind, hub in sources:
        if pins.setdefault((kind, hub["id"]), hub["revision"]) != hub["revision"]:
            raise ValueError(f"{hub['id']} pinned to two commits: {pins[(kind, hub['id'])]} and {hub['revision']}")
    return pins


def build_paper_repos(config: dict, tmp, seed: int = 0, pickle_only: bool = True,
                      newsqa: bool = True) -> list[HubRepo]:
    """Stand-ins for every hub repository ``config`` names, each at its pinned commit, plus
    (``newsqa``) NewsQA at its known commit when the config does not name it; ``tmp`` is a
    scratch folder. ``pickle_only=False`` gives the pickle-only repositories a
    ``model.safetensors`` as well."""
    pins = hub_sources(config)
    if newsqa:
        pins.setdefault(("dataset", NEWSQA[0]), NEWSQA[1])
    from miniature import demo_data

    # The vocabulary: the words of all three kinds of text, as a general vocabulary would.
    texts = demo_data.generate_corpus(400, seed)
    texts += [r["text"] for r in demo_data.generate_reviews(200, seed, prefix="vocab")]
    texts += [p["context"] + " " + " ".join(q["question"] for q in p["qas"])
              for make in (demo_data.generate_qa, demo_data.generate_match_reports)
              for p in make(300, seed, prefix="vocab")["data"][0]["paragraphs"]]
    vocab = build_vocab(texts)
    repos = []
    for i, ((kind, repo_id), sha) in enumerate(sorted(pins.items())):
        if kind == "model":
            if repo_id not in MODELS:
                raise ValueError(f"no stand-in for model repository {repo_id}: add its layout to MODELS")
            repos.append(model_repo(repo_id, sha, vocab, tmp, seed + i, pickle_only=pickle_only))
        else:
            if repo_id not in DATASETS:
                raise ValueError(f"no stand-in for dataset repository {repo_id}: add its layout to DATASETS")
            make, sizes = DATASETS[repo_id]
            repos.append(make(repo_id, sha, sizes, seed))
    return repos
