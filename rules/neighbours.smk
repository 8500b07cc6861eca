# Neighbours stage: every test data point's nearest other data points (cosine), per model
# and stage, searched once at the largest K any comparison needs.


rule neighbours:
    input:
        "results/embed/{model}/{stage}.npz",
    output:
        "results/neighbours/{model}/{stage}.npz",
    log:
        "logs/neighbours/{model}/{stage}.log",
    benchmark:
        "benchmarks/neighbours/{model}/{stage}.tsv"
    wildcard_constraints:
        stage="before|after",
    conda:
        "../envs/faiss.yaml"
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        k_max=K_MAX,
    script:
        "../scripts/neighbours.py"
