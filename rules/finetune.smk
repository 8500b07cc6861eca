# Fine-tuning stage: one job per model and task.


rule finetune_qa:
    input:
        model="results/models/{model}",
        train="results/data/qa/train.json",
    output:
        directory("results/finetune/qa/{model}"),
    params:
        settings=lambda wc: cfg.finetune_settings(config, wc.model, "qa"),
        seed=config["seed"],
        checkpoint_dir="results/checkpoints/finetune/qa/{model}",
    threads: 2
    log:
        "logs/finetune/qa/{model}.log",
    benchmark:
        "benchmarks/finetune/qa/{model}.tsv"
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/finetune_qa.py"
