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
    script:
        "../scripts/compare_sets.py"


rule table2:
    input:
        errors=pair_files("errors"),
        adversarial=pair_files("adversarial"),
    output:
        "results/table2.csv",
    log:
        "logs/table2.log",
    conda:
        "../envs/torch.yaml"
    params:
        pairs=PAIRS,
    script:
        "../scripts/table2.py"
