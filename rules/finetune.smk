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
    # gpu: how many GPUs the job asks for; 0 trains on CPU. Switch it on in a profile
    # (set-resources: finetune_qa: gpu: 1), see README.
    resources:
        mem_mb=32000,
        runtime=1440,
        gpu=0,
    params:
        settings=lambda wc: cfg.finetune_settings(config, wc.model, "qa"),
        seed=config["seed"],
        checkpoint_dir="results/checkpoints/finetune/qa/{model}",
    script:
        "../scripts/finetune_qa.py"
