# Figures: Figure 1a/1b/1c of the paper (the reference against every other model, as K
# grows), the figure sections of the data representation and data distribution
# characteristics, each with the plotted numbers beside it as CSV.
FIGURE1 = {
    **characteristics.REPRESENTATION.sections,
    **characteristics.DISTRIBUTION.sections,
}


rule figures:
    input:
        representation=result_files(
            characteristics.REPRESENTATION, pairs=REFERENCE_PAIRS
        ),
        distribution=result_files(characteristics.DISTRIBUTION),
    output:
        **{
            name: report(
                section.file, caption="../report/fig1.rst", category="Figure 1"
            )
            for name, section in FIGURE1.items()
        },
        **{
            f"{name}_csv": os.path.splitext(section.file)[0] + ".csv"
            for name, section in FIGURE1.items()
        },
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
