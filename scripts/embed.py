"""[CLS] vectors of the QA data points with one model, before and after fine-tuning."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from miniature.runtime import job_device, start_job

log = start_job(snakemake)
from miniature import embed

embed.embed_model(snakemake.input.pretrained, snakemake.input.finetuned, snakemake.input.test, snakemake.input.train,
                  snakemake.input.challenge, snakemake.output.before, snakemake.output.after,
                  snakemake.params.max_length, snakemake.params.doc_stride, snakemake.params.batch_size,
                  snakemake.params.train_questions, snakemake.params.seed,
                  bf16=snakemake.params.bf16, device=job_device(snakemake),
                  checkpoint_dir=snakemake.params.checkpoint_dir, resume_every=snakemake.params.resume_every)
