"""Draw the test reviews every target is attacked on."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job

log = start_job(snakemake)
from miniature import data

n = data.write_attack_sample(snakemake.input[0], snakemake.output[0], snakemake.params.size, snakemake.params.seed)
log.info("%d reviews sampled for the attack", n)
