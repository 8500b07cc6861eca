# miniature: is a compressed model a miniature of its large model? See README.md.
from snakemake.utils import min_version

min_version("9.0")


# --configfile replaces the demo config instead of being merged into it (a merge would
# mix the demo's models into the paper's).
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


# What `snakemake --report report.zip` says about the workflow; each result marked with
# report() in rules/ brings its own caption from report/.
report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/models.smk"
include: "rules/compress.smk"
include: "rules/finetune.smk"
include: "rules/predict.smk"
include: "rules/errors.smk"
include: "rules/embed.smk"
include: "rules/neighbours.smk"
include: "rules/ood.smk"
include: "rules/attack.smk"
include: "rules/compare.smk"
include: "rules/figures.smk"
include: "rules/agreement.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        "results/table2.csv",
        "results/models.csv",
        *(["results/table3.csv"] if ATTACKED else []),
        "results/agreement.csv",
        "results/report.html",
        rules.figures.output,
