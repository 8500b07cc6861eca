# Report stage: a heatmap per characteristic, and results/report.html, one self-contained page.

# The sections the configured characteristics add to the report (a figure, or a table as
# CSV), name -> file, in report order; each comes with its caption in its declaration.
REPORT_SECTIONS = {
    name: section.file for c in CHARACTERISTICS for name, section in c.sections.items()
}


rule heatmaps:
    input:
        table2="results/table2.csv",
        agreement="results/agreement.csv",
    output:
        report(
            directory("results/figures/heatmaps"),
            patterns=["{name}.png"],
            caption="../report/heatmaps.rst",
            category="Heatmaps",
        ),
    log:
        "logs/figures/heatmaps.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        characteristics=[c.name for c in CHARACTERISTICS],
    script:
        "../scripts/heatmaps.py"


rule report:
    input:
        **REPORT_SECTIONS,
        table2="results/table2.csv",
        agreement="results/agreement.csv",
        heatmaps="results/figures/heatmaps",
    output:
        report(
            "results/report.html",
            caption="../report/report.html.rst",
            category="Report",
        ),
    log:
        "logs/report.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        characteristics=[c.name for c in CHARACTERISTICS],
        config=config,
    script:
        "../scripts/report.py"
