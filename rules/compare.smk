# Compare stage: one job per unordered model pair and comparison, then the tables.


rule compare_errors:
    input:
        a="results/errors/{a}/errors.json",
        b="results/errors/{b}/errors.json",
    output:
        "results/compare/errors/{a}__{b}.json",
    log:
        "logs/compare/errors/{a}__{b}.log",
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/compare_sets.py"


rule compare_adversarial:
    input:
        a="results/attack/{a}/succeeded.json",
        b="results/attack/{b}/succeeded.json",
    output:
        "results/compare/adversarial/{a}__{b}.json",
    log:
        "logs/compare/adversarial/{a}__{b}.log",
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/compare_sets.py"


rule compare_representation:
    input:
        a_before="results/neighbours/{a}/before.npz",
        b_before="results/neighbours/{b}/before.npz",
        a_after="results/neighbours/{a}/after.npz",
        b_after="results/neighbours/{b}/after.npz",
    output:
        "results/compare/representation/{a}__{b}.json",
    log:
        "logs/compare/representation/{a}__{b}.log",
    conda:
        "../envs/faiss.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        ks=KS,
        k=config["knn"]["k"],
    script:
        "../scripts/compare_representation.py"


rule compare_distribution:
    input:
        a="results/ood/{a}/flagged.json",
        b="results/ood/{b}/flagged.json",
    output:
        "results/compare/distribution/{a}__{b}.json",
    log:
        "logs/compare/distribution/{a}__{b}.log",
    conda:
        "../envs/faiss.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        k=config["knn"]["k"],
    script:
        "../scripts/compare_distribution.py"


rule table2:
    input:
        **({"adversarial": pair_files("adversarial")} if ATTACKED else {}),
        errors=pair_files("errors"),
        representation=pair_files("representation"),
        distribution=pair_files("distribution"),
    output:
        "results/table2.csv",
    log:
        "logs/table2.log",
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        pairs=PAIRS,
    script:
        "../scripts/table2.py"


rule models_table:
    input:
        models=[finetuned_model(key, "qa") for key in MODELS],
        timings=expand("results/predict/{model}/timing.json", model=MODELS),
        metrics=expand("results/predict/{model}/metrics.json", model=MODELS),
    output:
        "results/models.csv",
    log:
        "logs/models_table.log",
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        models=MODELS,
        sources={key: cfg.describe_source(config, key) for key in MODELS},
    script:
        "../scripts/models_table.py"
