"""Compress a model's pre-trained checkpoint (the compress source, any stage: see rules/compress.smk)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import job_device, start_job

log = start_job(snakemake)
from miniature import compress

compress.compress_pretrained(snakemake.input.parent, snakemake.output[0], snakemake.params.recipe,
                             snakemake.params.seed, corpus=snakemake.input.get("corpus"),
                             settings=snakemake.params.settings, checkpoint_dir=snakemake.params.checkpoint_dir,
                             device=job_device(snakemake))
