"""Materialise a hub model (pinned revision), a local model folder or a model shipped in an
installed package as safetensors (a pickle-only checkpoint is converted, tensors only), checking
the weights' sha256 where the config gives it."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job

log = start_job(snakemake, offline="hub" not in snakemake.params.source)
from miniature import model_io

source = snakemake.params.source
model_io.fetch_model(snakemake.output[0], hub=source.get("hub"), path=source.get("path"),
                        package=source.get("package"), sha256=source.get("sha256"), seed=snakemake.params.seed)
