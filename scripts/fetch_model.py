"""Materialise a hub model (pinned revision) or a local model folder, safetensors only."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job  # noqa: E402

log = start_job(snakemake, offline="hub" not in snakemake.params.source)
from miniature import models  # noqa: E402

models.fetch_model(snakemake.output[0], hub=snakemake.params.source.get("hub"),
                   path=snakemake.params.source.get("path"))
