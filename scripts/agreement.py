"""Assemble results/agreement.csv from the per-pair agreement records."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job

log = start_job(snakemake)
from miniature import agreement, data

records = {name: [data.read_json(p) for p in paths] for name, paths in snakemake.input.items()}
table = agreement.agreement_table(records, baseline=snakemake.params.baseline)
data.write_csv(table, snakemake.output[0])
log.info("agreement:\n%s", table.to_string(index=False))
