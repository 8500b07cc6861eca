"""Assemble Table 2: the per-pair K-NN records and every model's sets (whose Jaccards are computed here)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job  # noqa: E402

log = start_job(snakemake)
from miniature import compare, data  # noqa: E402

params = snakemake.params
pairs = [tuple(p) for p in params.pairs]
sets = {name: dict(zip(params.models, map(data.read_json, paths)))
        for name, paths in snakemake.input.items() if name != "representation"}
records = compare.pair_comparisons(pairs, sets, k=params.k,
                                   representation=[data.read_json(p) for p in snakemake.input.representation])
table = compare.table2(pairs, records)
data.write_csv(table, snakemake.output[0])
log.info("table 2:\n%s", table.to_string(index=False))
