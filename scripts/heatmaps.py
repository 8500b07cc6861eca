"""Draw a heatmap of every characteristic over all model pairs."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job  # noqa: E402

log = start_job(snakemake)
from miniature import report  # noqa: E402

paths = report.write_heatmaps(snakemake.input.table2, snakemake.input.agreement, snakemake.output[0])
log.info("wrote %s", ", ".join(str(p) for p in paths))
