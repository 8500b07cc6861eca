"""Fine-tune one model for sentiment classification and measure its test accuracy."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import job_device, start_job

log = start_job(snakemake)
from miniature import finetune

finetune.finetune_sentiment(snakemake.input.model, snakemake.input.train, snakemake.input.test, snakemake.output[0],
                            snakemake.params.settings, snakemake.params.seed,
                            checkpoint_dir=snakemake.params.checkpoint_dir, device=job_device(snakemake))
