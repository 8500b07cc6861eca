# Fine-tuning stage: one job per model and task.


rule finetune_qa:
    input:
        model="results/models/{model}",
        train="results/data/qa/train.json",
    output:
        directory("results/finetune/qa/{model}"),
    log:
        "logs/finetune/qa/{model}.log",
    benchmark:
        "benchmarks/finetune/qa/{model}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: HEAVY
    params:
        settings=lambda wc: cfg.finetune_settings(config, wc.model, "qa"),
        seed=config["seed"],
        checkpoint_dir="results/checkpoints/finetune/qa/{model}",
    script:
        "../scripts/finetune_qa.py"


rule finetune_sentiment:
    input:
        model="results/models/{model}",
        train="results/data/sentiment/train.jsonl",
        test="results/data/sentiment/test.jsonl",
    output:
        directory("results/finetune/sentiment/{model}"),
    log:
        "logs/finetune/sentiment/{model}.log",
    benchmark:
        "benchmarks/finetune/sentiment/{model}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: HEAVY
    params:
        settings=lambda wc: cfg.finetune_settings(config, wc.model, "sentiment"),
        seed=config["seed"],
        checkpoint_dir="results/checkpoints/finetune/sentiment/{model}",
    script:
        "../scripts/finetune_sentiment.py"
