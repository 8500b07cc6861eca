"""Figure 1a/1b/1c and their numbers as CSV."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job

log = start_job(snakemake)
from miniature import characteristics, data, figures, table2

params = snakemake.params
flagged = dict(zip(params.models, map(data.read_json, snakemake.input.distribution)))
distribution = table2.pair_records([tuple(p) for p in params.pairs], flagged,
                                   table2.pair_comparison(characteristics.DISTRIBUTION, params.k))
figures.figure1([data.read_json(p) for p in snakemake.input.representation], distribution,
                dict(snakemake.output.items()))
log.info("wrote %s", ", ".join(snakemake.output))
