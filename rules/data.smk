# Data stage: every split, whatever its source, becomes one local file under results/data.


rule corpus:
    output:
        "results/data/corpus.txt",
    log:
        "logs/data/corpus.log",
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        documents=config["pretraining"]["corpus_documents"],
        seed=config["seed"],
    script:
        "../scripts/corpus.py"


rule qa_split:
    input:
        lambda wc: source_file(config["data"]["qa"][wc.qa_split]),
    output:
        "results/data/qa/{qa_split}.json",
    log:
        "logs/data/qa/{qa_split}.log",
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        source=lambda wc: config["data"]["qa"][wc.qa_split],
        seed=config["seed"],
    script:
        "../scripts/qa_split.py"


rule sentiment_split:
    input:
        lambda wc: source_file(config["data"]["sentiment"][wc.sentiment_split]),
    output:
        "results/data/sentiment/{sentiment_split}.jsonl",
    log:
        "logs/data/sentiment/{sentiment_split}.log",
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        source=lambda wc: config["data"]["sentiment"][wc.sentiment_split],
        seed=config["seed"],
    script:
        "../scripts/sentiment_split.py"


rule attack_sample:
    input:
        "results/data/sentiment/test.jsonl",
    output:
        "results/data/sentiment/attack_sample.jsonl",
    log:
        "logs/data/sentiment/attack_sample.log",
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        size=config["attack"]["sample_size"],
        seed=config["attack"]["seed"],
    script:
        "../scripts/attack_sample.py"
