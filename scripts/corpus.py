"""Write the generated pre-training corpus, one document per line."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job

log = start_job(snakemake)
from miniature import demo_data

demo_data.write_corpus(snakemake.output[0], snakemake.params.documents, snakemake.params.seed)
