# Fine-tuning stage: one job per model and task.


rule finetune_qa:
    input:
        # The seed baseline starts from the reference's pre-trained model.
        model=lambda wc: model_dir(cfg.base_model(config, wc.model)),
        train=TRAIN_SPLIT["qa"],
    output:
        directory("results/finetune/qa/{model}"),
    log:
        "logs/finetune/qa/{model}.log",
    benchmark:
        "benchmarks/finetune/qa/{model}.tsv"
    wildcard_constraints:
        model=any_of(FINETUNED),
    conda:
        "../envs/torch.yaml"
    threads: HEAVY
    resources:
        mem_mb=32000,
        runtime=1440,
        gpu=0,
    params:
        settings=lambda wc: cfg.finetune_settings(config, wc.model, "qa"),
        seed=lambda wc: cfg.finetune_seed(config, wc.model),
        checkpoint_dir="results/checkpoints/finetune/qa/{model}",
    script:
        "../scripts/finetune_qa.py"


rule finetune_sentiment:
    input:
        model=lambda wc: model_dir(wc.model),
        train=TRAIN_SPLIT["sentiment"],
        test="results/data/sentiment/test.jsonl",
    output:
        directory("results/finetune/sentiment/{model}"),
    log:
        "logs/finetune/sentiment/{model}.log",
    benchmark:
        "benchmarks/finetune/sentiment/{model}.tsv"
    wildcard_constraints:
        model=any_of(FINETUNED),
    conda:
        "../envs/torch.yaml"
    threads: HEAVY
    resources:
        mem_mb=16000,
        runtime=720,
        gpu=0,
    params:
        settings=lambda wc: cfg.finetune_settings(config, wc.model, "sentiment"),
        seed=config["seed"],
        checkpoint_dir="results/checkpoints/finetune/sentiment/{model}",
    script:
        "../scripts/finetune_sentiment.py"
