# Compare stage: a job per unordered model pair for the K-NN comparison (the per-pair work
# that is worth a job: every data point at every K), then the tables. Table 2 computes the
# Jaccards of the set characteristics itself from every model's sets: a Jaccard costs far
# less than a job of its own would to start.


rule compare_representation:
    input:
        a_before="results/neighbours/{a}/before.npz",
        b_before="results/neighbours/{b}/before.npz",
        a_after="results/neighbours/{a}/after.npz",
        b_after="results/neighbours/{b}/after.npz",
    output:
        characteristics.REPRESENTATION.result,
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


rule table2:
    input:
        **{c.name: result_files(c) for c in CHARACTERISTICS},
    output:
        report(
            "results/table2.csv", caption="../report/table2.csv.rst", category="Tables"
        ),
    log:
        "logs/table2.log",
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        characteristics=[c.name for c in CHARACTERISTICS],
        models=MODELS,
        pairs=PAIRS,
        k=config["knn"]["k"],
    script:
        "../scripts/table2.py"


rule models_table:
    input:
        models=[finetuned_model(key, "qa") for key in MODELS],
        timings=expand("results/predict/{model}/timing.json", model=MODELS),
        metrics=expand("results/predict/{model}/metrics.json", model=MODELS),
    output:
        report(
            "results/models.csv", caption="../report/models.csv.rst", category="Tables"
        ),
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
