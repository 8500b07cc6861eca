# Errors stage: the ids of the test questions each model answers wrongly.


rule errors:
    input:
        predictions="results/predict/{model}/predictions.json",
        test="results/data/qa/test.json",
    output:
        "results/errors/{model}/errors.json",
    log:
        "logs/errors/{model}.log",
    wildcard_constraints:
        model=any_of(QA_MODELS),
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/errors.py"
