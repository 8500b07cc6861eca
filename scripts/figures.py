"""Figure 1a/1b/1c and their numbers as CSV."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job  # noqa: E402

log = start_job(snakemake)
from miniature import compare, data, figures  # noqa: E402

params = snakemake.params
flagged = dict(zip(params.models, map(data.read_json, snakemake.input.distribution)))
distribution = compare.pair_comparisons([tuple(p) for p in params.pairs], {"distribution": flagged},
                                        k=params.k)["distribution"]
figures.figure1([data.read_json(p) for p in snakemake.input.representation], distribution,
                dict(snakemake.output.items()))
log.info("wrote %s", ", ".join(snakemake.output))
