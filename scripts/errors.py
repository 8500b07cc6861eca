"""List the test questions one model got wrong."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import start_job

log = start_job(snakemake)
from miniature import data, squad

golds = data.gold_answers_by_id(data.load_qa(snakemake.input.test))
errors = squad.error_ids(golds, data.read_json(snakemake.input.predictions))
data.write_json(errors, snakemake.output[0])
log.info("%d errors of %d questions", len(errors), len(golds))
