"""Write one QA split (generated, local file or hub) as a checked SQuAD 2.0 file."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job

log = start_job(snakemake, offline="hub" not in snakemake.params.source)
from miniature import data

n = data.prepare_qa_split(snakemake.params.source, snakemake.output[0], snakemake.params.seed,
                          snakemake.wildcards.qa_split)
log.info("%d questions written to %s", n, snakemake.output[0])
