"""Draw a heatmap of every configured characteristic over all model pairs."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job

log = start_job(snakemake)
import pandas as pd

from miniature import characteristics, heatmaps

paths = heatmaps.write_heatmaps(pd.read_csv(snakemake.input.table2), pd.read_csv(snakemake.input.agreement),
                                snakemake.output[0], characteristics.by_name(snakemake.params.characteristics))
log.info("wrote %s", ", ".join(str(p) for p in paths))
