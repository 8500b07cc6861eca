# Predict stage: answers of each fine-tuned QA model on the test split, and their metrics.


rule predict_qa:
    input:
        model=lambda wc: finetuned_model(wc.model, "qa"),
        test="results/data/qa/test.json",
    output:
        predictions="results/predict/{model}/predictions.json",
        null_margins="results/predict/{model}/null_margins.json",
        metrics="results/predict/{model}/metrics.json",
        timing="results/predict/{model}/timing.json",
    log:
        "logs/predict/{model}.log",
    benchmark:
        "benchmarks/predict/{model}.tsv"
    wildcard_constraints:
        model=any_of(QA_MODELS),
    conda:
        "../envs/torch.yaml"
    threads: HEAVY
    resources:
        mem_mb=16000,
        runtime=240,
        gpu=0,
    params:
        # Test windows are cut exactly as the model's training windows were.
        max_length=qa_setting("max_length"),
        doc_stride=qa_setting("doc_stride"),
        settings=config["predict"],
        # Test splits of at least predict.resume_every windows keep the logits of finished
        # batches here until the outputs are written: a killed or requeued job starts after them.
        checkpoint_dir="results/checkpoints/predict/{model}",
    script:
        "../scripts/predict_qa.py"
