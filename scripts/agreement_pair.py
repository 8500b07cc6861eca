"""Agreement beyond chance of two models' id sets in one characteristic that compares sets."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job

log = start_job(snakemake)
from miniature import agreement, data

a, b = snakemake.wildcards.a, snakemake.wildcards.b
files = snakemake.input
answers = (data.read_json(files.answers_a), data.read_json(files.answers_b)) if "answers_a" in files.keys() else None
key = snakemake.params.key  # the set at Table 2's K in a result that holds one per K; None: the whole result
set_a, set_b = (data.read_json(path) if key is None else data.read_json(path)[key] for path in (files.a, files.b))
record = {"model_a": a, "model_b": b,
          **agreement.set_agreement(set_a, set_b,
                                    agreement.universe_ids(files.universe), snakemake.params.resamples,
                                    snakemake.params.seed, answers=answers)}
data.write_json(record, snakemake.output[0])
log.info("%s: %s vs %s: Jaccard %.4f [%.4f, %.4f], chance %.4f, kappa %.4f", snakemake.wildcards.comparison, a, b,
         record["jaccard"], record["jaccard_ci_low"], record["jaccard_ci_high"], record["expected_jaccard"],
         record["kappa"])
