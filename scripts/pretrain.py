"""Build a model with the pretrain recipe (masked-LM + next-sentence pre-training)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import job_device, start_job

log = start_job(snakemake)
from miniature import pretraining

pretraining.build_pretrained(snakemake.input.corpus, snakemake.input.tokenizer, snakemake.output[0],
                             snakemake.params.recipe, snakemake.params.settings, snakemake.params.seed,
                             checkpoint_dir=snakemake.params.checkpoint_dir, device=job_device(snakemake))
