"""Figure 1a/1b/1c and their numbers as CSV."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job  # noqa: E402

log = start_job(snakemake)
from miniature import data, figures  # noqa: E402

figures.figure1([data.read_json(p) for p in snakemake.input.representation],
                [data.read_json(p) for p in snakemake.input.distribution], dict(snakemake.output.items()))
log.info("wrote %s", ", ".join(snakemake.output))
