# Attack stage: BERT-Attack against each model's sentiment classifier on the same sample,
# then Table 3. The attack masked-LM is one of the models, or its own source.


rule fetch_attack_masked_lm:
    input:
        lambda wc: config["attack"]["masked_lm"].get("path", []),
    output:
        directory(ATTACK_MASKED_LM_DIR),
    log:
        "logs/models/_attack_masked_lm.log",
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        source=config["attack"]["masked_lm"],
    script:
        "../scripts/fetch_model.py"


rule attack:
    input:
        target=lambda wc: finetuned_model(wc.model, "sentiment"),
        masked_lm=attack_masked_lm(),
        sample="results/data/sentiment/attack_sample.jsonl",
    output:
        examples="results/attack/{model}/examples.csv",
        summary="results/attack/{model}/summary.json",
        succeeded="results/attack/{model}/succeeded.json",
    log:
        "logs/attack/{model}.log",
    benchmark:
        "benchmarks/attack/{model}.tsv"
    conda:
        "../envs/attack.yaml"
    threads: HEAVY
    resources:
        mem_mb=8000,
        runtime=480,
        gpu=0,
    params:
        settings=cfg.attack_settings(config),
        max_length=lambda wc: cfg.attack_max_length(config, wc.model),
        # Each attacked review is kept here until the outputs are written: a killed or
        # requeued job continues at the next unattacked review.
        checkpoint_dir="results/checkpoints/attack/{model}",
    script:
        "../scripts/attack.py"


rule table3:
    input:
        expand("results/attack/{model}/summary.json", model=MODELS),
    output:
        report(
            "results/table3.csv", caption="../report/table3.csv.rst", category="Tables"
        ),
    log:
        "logs/table3.log",
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        models=MODELS,
    script:
        "../scripts/table3.py"
