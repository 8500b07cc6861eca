"""Attack one model's sentiment classifier with BERT-Attack on the sample."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import job_device, start_job

log = start_job(snakemake, uses_sklearn=True)
from miniature import attack

attack.attack_target(snakemake.input.target, snakemake.input.masked_lm, snakemake.input.sample,
                     snakemake.output.examples, snakemake.output.summary, snakemake.output.succeeded,
                     snakemake.params.settings, snakemake.params.max_length,
                     device=job_device(snakemake), checkpoint_dir=snakemake.params.checkpoint_dir)
