"""Compare the OOD-flagged challenge ids of two models."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job  # noqa: E402

log = start_job(snakemake)
from miniature import compare, data  # noqa: E402

a, b = snakemake.wildcards.a, snakemake.wildcards.b
record = {"model_a": a, "model_b": b, **compare.distribution_record(
    data.read_json(snakemake.input.a), data.read_json(snakemake.input.b), snakemake.params.k)}
data.write_json(record, snakemake.output[0])
log.info("%s vs %s at K=%d: Jaccard %.4f", a, b, record["k"], record["jaccard"])
