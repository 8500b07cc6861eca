# Models stage: every model key becomes a save_pretrained folder results/models/{model},
# downloaded (hub), copied (path) or built by one of the demo recipes. Each rule only
# matches the keys it can make.


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
        directory("results/models/{model}"),
    log:
        "logs/models/{model}.log",
    wildcard_constraints:
        model=any_of([k for k in MODELS if cfg.model_source(config, k) != "build"]),
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        source=lambda wc: config["models"][wc.model],
    script:
        "../scripts/fetch_model.py"


rule pretrain:
    input:
        corpus="results/data/corpus.txt",
        tokenizer="results/tokenizer",
    output:
        directory("results/models/{model}"),
    log:
        "logs/models/{model}.log",
    benchmark:
        "benchmarks/models/{model}.tsv"
    wildcard_constraints:
        model=any_of(cfg.models_built_by(config, "pretrain")),
    conda:
        "../envs/torch.yaml"
    threads: HEAVY
    resources:
        mem_mb=16000,
        runtime=1440,
    params:
        recipe=recipe,
        settings=config["pretraining"],
        seed=config["seed"],
        checkpoint_dir="results/checkpoints/models/{model}",
    script:
        "../scripts/pretrain.py"


rule distil:
    input:
        corpus="results/data/corpus.txt",
        tokenizer="results/tokenizer",
        teacher=lambda wc: model_dir(recipe(wc)["teacher"]),
    output:
        directory("results/models/{model}"),
    log:
        "logs/models/{model}.log",
    benchmark:
        "benchmarks/models/{model}.tsv"
    wildcard_constraints:
        model=any_of(cfg.models_built_by(config, "distil")),
    conda:
        "../envs/torch.yaml"
    threads: HEAVY
    resources:
        mem_mb=16000,
        runtime=1440,
    params:
        recipe=recipe,
        settings=config["pretraining"],
        seed=config["seed"],
        checkpoint_dir="results/checkpoints/models/{model}",
    script:
        "../scripts/distil.py"


rule truncate:
    input:
        parent=lambda wc: model_dir(recipe(wc)["from"]),
    output:
        directory("results/models/{model}"),
    log:
        "logs/models/{model}.log",
    wildcard_constraints:
        model=any_of(cfg.models_built_by(config, "truncate")),
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        keep_layers=lambda wc: recipe(wc)["keep_layers"],
    script:
        "../scripts/truncate.py"
