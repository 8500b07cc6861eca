"""Write one sentiment split (generated, local file or hub) as JSON Lines."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job

log = start_job(snakemake, offline="hub" not in snakemake.params.source)
from miniature import data

n = data.prepare_sentiment_split(snakemake.params.source, snakemake.output[0], snakemake.params.seed,
                                 snakemake.wildcards.sentiment_split)
log.info("%d reviews written to %s", n, snakemake.output[0])
