"""Assemble Table 3 from the per-target attack summaries."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job

log = start_job(snakemake)
from miniature import data, table3

table = table3.table3({m: data.read_json(p) for m, p in zip(snakemake.params.models, snakemake.input)})
data.write_csv(table, snakemake.output[0])
log.info("table 3:\n%s", table.to_string(index=False))
