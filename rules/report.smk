# Report stage: a heatmap per characteristic, and results/report.html, one self-contained page.

# Optional sections of the report: name -> the file it shows (a figure, or a table as CSV),
# in report order. A characteristic adds its files here when the config has it; each name
# needs a caption in miniature.report.SECTION_CAPTIONS.
REPORT_SECTIONS = {
    **{name: rules.figures.output[name] for name in ("fig1a", "fig1b", "fig1c")},
    **({"table3": "results/table3.csv"} if ATTACKED else {}),
}


rule heatmaps:
    input:
        table2="results/table2.csv",
        agreement="results/agreement.csv",
    output:
        directory("results/figures/heatmaps"),
    log:
        "logs/figures/heatmaps.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/heatmaps.py"


rule report:
    input:
        **REPORT_SECTIONS,
        table2="results/table2.csv",
        agreement="results/agreement.csv",
        heatmaps="results/figures/heatmaps",
    output:
        "results/report.html",
    log:
        "logs/report.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        sections=list(REPORT_SECTIONS),
        config=config,
    script:
        "../scripts/report.py"
