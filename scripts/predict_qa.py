"""Answer the test questions with one fine-tuned QA model and score the answers."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import job_device, start_job

log = start_job(snakemake)
from miniature import predict

predict.predict_qa(snakemake.input.model, snakemake.input.test, snakemake.output.predictions,
                   snakemake.output.null_margins, snakemake.output.metrics, snakemake.output.timing,
                   snakemake.params.max_length, snakemake.params.doc_stride, snakemake.params.settings,
                   device=job_device(snakemake), checkpoint_dir=snakemake.params.checkpoint_dir,
                   resume_every=snakemake.params.settings["resume_every"])
