"""Train the demo's WordPiece tokenizer on the generated corpus."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job

log = start_job(snakemake)
from miniature import tokenizer

tokenizer.build_tokenizer(snakemake.input.corpus, snakemake.output[0], snakemake.params.vocab_size,
                          snakemake.params.max_length)
