"""Write results/models.csv: each deployed model's source, size, shape, speed and accuracy."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job

log = start_job(snakemake)
from miniature import data, model_io, models_table

rows = []
for key, folder, timing, metrics in zip(snakemake.params.models, snakemake.input.models, snakemake.input.timings,
                                        snakemake.input.metrics):
    metrics = data.read_json(metrics)
    rows.append({"model": key, "source": snakemake.params.sources[key], **model_io.describe_model(folder),
                 "ms_per_question": data.read_json(timing)["ms_per_question"], "exact": metrics["exact"],
                 "f1": metrics["f1"]})
table = models_table.models_table(rows)
data.write_csv(table, snakemake.output[0])
log.info("models:\n%s", table.to_string(index=False))
