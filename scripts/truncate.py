"""Build a model with the truncate recipe (keep some encoder layers of another model)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job  # noqa: E402

log = start_job(snakemake)
from miniature import models  # noqa: E402

models.build_truncated(snakemake.input.parent, snakemake.output[0], snakemake.params.keep_layers)
