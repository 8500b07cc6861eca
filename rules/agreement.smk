# Agreement stage: for every set comparison and pair, agreement beyond chance and its
# uncertainty (one job per pair), then results/agreement.csv.

# The set comparisons: name -> each model's id set ({model} in the path), the universe of
# items the sets are subsets of, optionally each model's answers (the sets are then the
# errors of those answers: adds answer agreement and the negative-flip rate), and whether
# the seed baseline makes such a set (only sets that come from the QA fine-tune). "key"
# picks the set out of a file that holds several (the OOD sets per K). A characteristic
# plugs in with one entry.
SET_COMPARISONS = {
    "errors": {
        "sets": "results/errors/{model}/errors.json",
        "universe": "results/data/qa/test.json",
        "answers": "results/predict/{model}/predictions.json",
        "seed_baseline": True,
    },
    # The challenge questions each model's Deep-kNN detector flags at Table 2's K.
    "distribution": {
        "sets": "results/ood/{model}/flagged.json",
        "key": str(config["knn"]["k"]),
        "universe": "results/data/qa/challenge.json",
    },
}
if ATTACKED:
    # The attacked sentiment reviews whose prediction BERT-Attack changed.
    SET_COMPARISONS["adversarial"] = {
        "sets": "results/attack/{model}/succeeded.json",
        "universe": "results/data/sentiment/attack_sample.jsonl",
    }


rule agreement_pair:
    input:
        unpack(agreement_inputs),
    output:
        "results/agreement/{comparison}/{a}__{b}.json",
    log:
        "logs/agreement/{comparison}/{a}__{b}.log",
    wildcard_constraints:
        comparison=any_of(list(SET_COMPARISONS)),
        b=any_of(QA_MODELS),
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        resamples=config["agreement"]["bootstrap_resamples"],
        seed=config["seed"],
        key=lambda wildcards: SET_COMPARISONS[wildcards.comparison].get("key"),
    script:
        "../scripts/agreement_pair.py"


rule agreement:
    input:
        **{name: agreement_files(name) for name in SET_COMPARISONS},
    output:
        "results/agreement.csv",
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
