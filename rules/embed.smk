# Embed stage: [CLS] vectors of the same data points (test questions with the first window
# of their context) for every model, before and after QA fine-tuning; after fine-tuning
# also of the training subsample and the challenge set that the OOD detector needs.
# Both stages are one job per model: starting torch costs a job more than embedding the
# demo's data.


rule embed:
    input:
        pretrained=lambda wc: model_dir(wc.model),
        finetuned=lambda wc: finetuned_model(wc.model, "qa"),
        test="results/data/qa/test.json",
        train="results/data/qa/train.json",
        challenge="results/data/qa/challenge.json",
    output:
        before="results/embed/{model}/before.npz",
        after="results/embed/{model}/after.npz",
    log:
        "logs/embed/{model}.log",
    benchmark:
        "benchmarks/embed/{model}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: HEAVY
    resources:
        mem_mb=16000,
        runtime=240,
        gpu=0,
    params:
        max_length=qa_setting("max_length"),
        doc_stride=qa_setting("doc_stride"),
        batch_size=config["embed"]["batch_size"],
        bf16=config["embed"]["bf16"],
        train_questions=config["ood"]["train_questions"],
        seed=config["seed"],
        # Splits of at least resume_every data points keep the vectors of finished batches
        # here until both files are written: a killed or requeued job starts after them.
        checkpoint_dir="results/checkpoints/embed/{model}",
        resume_every=config["embed"]["resume_every"],
    script:
        "../scripts/embed.py"
