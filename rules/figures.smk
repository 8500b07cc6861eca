# Figures: Figure 1a/1b/1c of the paper (the reference against every other model, as K
# grows), each with the plotted numbers beside it as CSV.


rule figures:
    input:
        representation=representation_files(REFERENCE_PAIRS),
        distribution=set_files("distribution"),
    output:
        fig1a="results/figures/fig1a.png",
        fig1a_csv="results/figures/fig1a.csv",
        fig1b="results/figures/fig1b.png",
        fig1b_csv="results/figures/fig1b.csv",
        fig1c="results/figures/fig1c.png",
        fig1c_csv="results/figures/fig1c.csv",
    log:
        "logs/figures.log",
    conda:
        "../envs/plots.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        models=MODELS,
        pairs=REFERENCE_PAIRS,
        k=config["knn"]["k"],
    script:
        "../scripts/figures.py"
