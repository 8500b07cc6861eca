"""Compare two models' id sets (the questions they get wrong, the reviews successfully attacked, ...)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job  # noqa: E402

log = start_job(snakemake)
from miniature import compare, data  # noqa: E402

a, b = snakemake.wildcards.a, snakemake.wildcards.b
record = {"model_a": a, "model_b": b,
          **compare.compare_sets(data.read_json(snakemake.input.a), data.read_json(snakemake.input.b))}
data.write_json(record, snakemake.output[0])
log.info("%s vs %s: Jaccard %.4f", a, b, record["jaccard"])
