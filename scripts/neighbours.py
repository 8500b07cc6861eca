"""Every test data point's nearest other data points under one model and stage."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job

log = start_job(snakemake)
from miniature import data, knn

vectors = data.read_arrays(snakemake.input[0])
rows, similarities = knn.neighbours(vectors["test"], snakemake.params.k_max)
data.write_arrays(snakemake.output[0], ids=vectors["test_ids"], rows=rows, similarities=similarities)
log.info("%d data points, %d neighbours each", len(rows), snakemake.params.k_max)
