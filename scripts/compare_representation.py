"""Agreement of two models' nearest-neighbour lists, before and after fine-tuning."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job

log = start_job(snakemake)
from miniature import data, representation

a, b = snakemake.wildcards.a, snakemake.wildcards.b
neighbours = {stage: (data.read_arrays(snakemake.input[f"a_{stage}"]), data.read_arrays(snakemake.input[f"b_{stage}"]))
              for stage in ("before", "after")}
record = {"model_a": a, "model_b": b,
          **representation.representation_record(neighbours, snakemake.params.ks, snakemake.params.k)}
data.write_json(record, snakemake.output[0])
log.info("%s vs %s at K=%d: before %.4f (var %.4f), after %.4f (var %.4f)", a, b, record["k"],
         record["before_mean"], record["before_var"], record["after_mean"], record["after_var"])
