"""Assemble Table 2 from each characteristic's results: every model's sets (whose Jaccards are
computed here) or the per-pair records its own jobs wrote."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job

log = start_job(snakemake)
from miniature import characteristics, data, table2

params = snakemake.params
pairs = [tuple(p) for p in params.pairs]
declared = characteristics.by_name(params.characteristics)
results = {}
for characteristic in declared:
    read = list(map(data.read_json, snakemake.input[characteristic.name]))
    # A set characteristic's files are one per model (config order), a pair comparison's one per pair.
    results[characteristic.name] = dict(zip(params.models, read)) if characteristic.compares_sets else read
records = table2.pair_comparisons(pairs, results, declared, k=params.k)
table = table2.table2(pairs, records, declared)
data.write_csv(table, snakemake.output[0])
log.info("table 2:\n%s", table.to_string(index=False))
