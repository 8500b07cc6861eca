# OOD stage: the Deep-kNN detector of each fine-tuned model; which challenge questions it
# flags at every K, its threshold, FPR at 95% TPR and AUROC.


rule ood:
    input:
        "results/embed/{model}/after.npz",
    output:
        flagged="results/ood/{model}/flagged.json",
        detector="results/ood/{model}/detector.json",
    log:
        "logs/ood/{model}.log",
    benchmark:
        "benchmarks/ood/{model}.tsv"
    conda:
        "../envs/faiss.yaml"
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        ks=KS,
    script:
        "../scripts/ood.py"
