"""Fine-tune one model for extractive QA."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import job_device, start_job

log = start_job(snakemake)
from miniature import finetune

finetune.finetune_qa(snakemake.input.model, snakemake.input.train, snakemake.output[0], snakemake.params.settings,
                     snakemake.params.seed, checkpoint_dir=snakemake.params.checkpoint_dir,
                     device=job_device(snakemake))
