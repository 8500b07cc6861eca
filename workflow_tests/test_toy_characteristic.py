"""A characteristic added the way a user adds one: its declaration in miniature/characteristics.py,
its own rule file that writes each model's result, and that file's include line in the Snakefile.

It runs in a copy of the working tree, on a copy of the tiny run's results, so only the new
characteristic's jobs and the tables, heatmaps and report that read every characteristic run.
"""

import html
import json
import os
import shutil

import pandas as pd
import pytest
from runner import CONFIGS, copy_working_tree, planned_jobs, run_from, snakemake

# What a user appends to miniature/characteristics.py.
TOY_DECLARATION = '''

TOY = Characteristic(
    name="toy",
    title="Toy characteristic",
    description="a subset of the test questions that each model's key picks",
    result="results/toy/{model}/set.json",
    universe="results/data/qa/test.json",
    table2={"toy_jaccard": "jaccard"},
)
CHARACTERISTICS = (*CHARACTERISTICS, TOY)
'''

# The user's rule file: each model's set is the test questions whose hash with the model's key
# is divisible by 3 (about a third of them, a different third for each model).
TOY_RULES = '''
rule toy:
    input:
        "results/data/qa/test.json",
    output:
        "results/toy/{model}/set.json",
    run:
        import hashlib
        import json

        with open(input[0]) as file:
            test = json.load(file)
        ids = [qa["id"] for article in test["data"] for paragraph in article["paragraphs"]
               for qa in paragraph["qas"]]
        picked = [i for i in ids if hashlib.sha256(f"{wildcards.model}/{i}".encode()).digest()[0] % 3 == 0]
        with open(output[0], "w") as file:
            json.dump(sorted(picked), file)
'''

TINY_MODELS = ["large", "truncated", "distil", "small"]  # workflow_tests/configs/tiny.yaml, in order
TINY_PAIRS = [(a, b) for i, a in enumerate(TINY_MODELS) for b in TINY_MODELS[i + 1:]]
OLD = 946684800  # 2000-01-01, seconds since the epoch
# The outputs that read every characteristic (under results/).
EVERY_CHARACTERISTIC = ("table2.csv", "agreement.csv", "heatmaps", "report.html")


def add_toy_characteristic(tree):
    """Declare the toy characteristic in the copy ``tree`` and include its rule file, as a user would."""
    with (tree / "miniature" / "characteristics.py").open("a", encoding="utf-8") as file:
        file.write(TOY_DECLARATION)
    (tree / "rules" / "toy.smk").write_text(TOY_RULES, encoding="utf-8")
    snakefile = tree / "Snakefile"
    text = snakefile.read_text(encoding="utf-8")
    anchor = 'include: "rules/compare.smk"\n'
    assert anchor in text
    snakefile.write_text(text.replace(anchor, 'include: "rules/toy.smk"\n' + anchor), encoding="utf-8")
    return tree


def age(tree):
    """Date every file of ``tree`` back to 2000: Snakemake takes workflow files newer than a
    job's outputs as changed code, and the copy is newer than the tiny run's results."""
    for path in tree.rglob("*"):
        os.utime(path, (OLD, OLD), follow_symlinks=False)
    return tree


def test_a_declared_characteristic_reaches_table2_agreement_heatmaps_and_report(tiny_run, tmp_path):
    tree = age(add_toy_characteristic(copy_working_tree(tmp_path / "tree")))
    workdir = tmp_path / "run"
    workdir.mkdir()
    run_from(workdir, tree)
    # The tiny run's results, with their times: the models' jobs are done. Its provenance
    # records are not copied, so Snakemake cannot see that the tables' inputs changed: the
    # outputs that read every characteristic are left out, and made again.
    shutil.copytree(tiny_run / "results", workdir / "results", ignore=shutil.ignore_patterns(*EVERY_CHARACTERISTIC))
    config = workdir / "config.yaml"
    shutil.copy(CONFIGS / "tiny.yaml", config)

    assert planned_jobs(workdir, target="all", configfile=config) == {
        "toy": len(TINY_MODELS), "agreement_pair": len(TINY_PAIRS), "table2": 1, "agreement": 1, "heatmaps": 1,
        "report": 1, "all": 1}
    snakemake(workdir, "--cores", "2", "all", configfile=config)

    results = workdir / "results"
    sets = {m: set(json.loads((results / f"toy/{m}/set.json").read_text())) for m in TINY_MODELS}
    table = pd.read_csv(results / "table2.csv")
    before = pd.read_csv(tiny_run / "results" / "table2.csv")
    assert list(table.columns) == [*before.columns, "toy_jaccard"]  # the toy's column last, the others unchanged
    pd.testing.assert_frame_equal(table[before.columns], before)
    for a, b, value in zip(table.model_a, table.model_b, table.toy_jaccard):
        assert value == pytest.approx(len(sets[a] & sets[b]) / len(sets[a] | sets[b]), abs=5e-5)  # 4 decimals

    agreement = pd.read_csv(results / "agreement.csv")
    toy_rows = agreement[agreement.characteristic == "toy"]
    assert list(zip(toy_rows.model_a, toy_rows.model_b)) == list(zip(table.model_a, table.model_b))
    assert list(toy_rows.jaccard) == pytest.approx(list(table.toy_jaccard), abs=5e-5)

    assert (results / "figures" / "heatmaps" / "toy.png").stat().st_size > 0
    page = (results / "report.html").read_text(encoding="utf-8")
    assert "<h3>Toy characteristic</h3>" in page
    assert html.escape("a subset of the test questions that each model's key picks") in page
