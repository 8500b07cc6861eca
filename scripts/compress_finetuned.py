"""Compress a model's fine-tuned model of one task after training (compress, stage finetuned)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import job_device, start_job

log = start_job(snakemake)
from miniature import compress

compress.compress_finetuned(snakemake.input.parent, snakemake.output[0], snakemake.params.recipe,
                            snakemake.wildcards.task, snakemake.params.seed, train_path=snakemake.input.get("train"),
                            settings=snakemake.params.settings, checkpoint_dir=snakemake.params.checkpoint_dir,
                            device=job_device(snakemake))
