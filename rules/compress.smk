# Compress stage: models declared as `compress: {from: <key>, method: ...}`.
#
# compress_pretrained makes results/models/compressed/{model} (model_dir in common.smk) from the
# parent's pre-trained checkpoint for every compressed key. With stage: pretrained that is the
# model the fine-tuning rules train; with stage: finetuned it is only the pre-trained view of
# the model, for stages that compare models before fine-tuning. compress_finetuned makes the
# fine-tuned model of a post-training compression (stage: finetuned) from its parent's
# fine-tuned model; finetuned_model() in common.smk tells every stage where to find it.


rule compress_pretrained:
    input:
        parent=lambda wc: model_dir(compression(wc)["from"]),
        corpus=lambda wc: (
            "results/data/corpus.txt" if distils_at(wc, "pretrained") else []
        ),
    output:
        directory("results/models/compressed/{model}"),
    log:
        "logs/models/compressed/{model}.log",
    benchmark:
        "benchmarks/models/compressed/{model}.tsv"
    wildcard_constraints:
        model=any_of(COMPRESSED),
    conda:
        "../envs/torch.yaml"
    threads: HEAVY
    resources:
        mem_mb=16000,
        runtime=1440,
        gpu=0,
    params:
        recipe=compression,
        settings=lambda wc: (
            config["pretraining"] if distils_at(wc, "pretrained") else None
        ),
        seed=config["seed"],
        checkpoint_dir="results/checkpoints/models/{model}",
    script:
        "../scripts/compress_pretrained.py"


rule compress_finetuned:
    input:
        parent=lambda wc: finetuned_model(compression(wc)["from"], wc.task),
        train=lambda wc: (TRAIN_SPLIT[wc.task] if distils_at(wc, "finetuned") else []),
    output:
        directory("results/compress/{task}/{model}"),
    log:
        "logs/compress/{task}/{model}.log",
    benchmark:
        "benchmarks/compress/{task}/{model}.tsv"
    wildcard_constraints:
        model=any_of(POST_TRAINING),
    conda:
        "../envs/torch.yaml"
    threads: HEAVY
    resources:
        mem_mb=32000,
        runtime=1440,
        gpu=0,
    params:
        recipe=compression,
        settings=lambda wc: (
            cfg.finetune_settings(config, wc.model, wc.task)
            if distils_at(wc, "finetuned")
            else None
        ),
        seed=config["seed"],
        checkpoint_dir="results/checkpoints/compress/{task}/{model}",
    script:
        "../scripts/compress_finetuned.py"
