"""Build a model with the distil recipe (a student distilled from a teacher)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job  # noqa: E402

log = start_job(snakemake)
from miniature import models  # noqa: E402

models.build_distilled(snakemake.input.corpus, snakemake.input.tokenizer, snakemake.input.teacher,
                       snakemake.output[0], snakemake.params.recipe, snakemake.params.settings,
                       snakemake.params.seed, checkpoint_dir=snakemake.params.checkpoint_dir)
