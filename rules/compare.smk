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
        "../scripts/compare_errors.py"


rule table2:
    input:
        errors=pair_files("errors"),
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
