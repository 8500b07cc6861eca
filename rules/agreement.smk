# Agreement stage: for every characteristic that compares sets (SET_CHARACTERISTICS,
# rules/common.smk) and every pair, agreement beyond chance and its uncertainty (one job per
# pair), then results/agreement.csv.


rule agreement_pair:
    input:
        unpack(agreement_inputs),
    output:
        "results/agreement/{comparison}/{a}__{b}.json",
    log:
        "logs/agreement/{comparison}/{a}__{b}.log",
    wildcard_constraints:
        comparison=any_of(list(SET_CHARACTERISTICS)),
        b=any_of(QA_MODELS),
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        resamples=config["agreement"]["bootstrap_resamples"],
        seed=config["seed"],
        key=set_key,
    script:
        "../scripts/agreement_pair.py"


rule agreement:
    input:
        **{name: agreement_files(c) for name, c in SET_CHARACTERISTICS.items()},
    output:
        report(
            "results/agreement.csv",
            caption="../report/agreement.csv.rst",
            category="Tables",
        ),
    log:
        "logs/agreement.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        baseline=SEED_BASELINE,
    script:
        "../scripts/agreement.py"
