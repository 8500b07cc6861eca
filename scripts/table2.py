"""Assemble Table 2 from the per-pair comparison records."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job  # noqa: E402

log = start_job(snakemake)
from miniature import compare, data  # noqa: E402

records = {name: [data.read_json(p) for p in paths] for name, paths in snakemake.input.items()}
table = compare.table2([tuple(p) for p in snakemake.params.pairs], records)
data.write_csv(table, snakemake.output[0])
log.info("table 2:\n%s", table.to_string(index=False))
