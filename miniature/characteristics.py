"""The characteristics a compressed model is compared on, each declared once.

A characteristic says where each model's result is, how two models' results are compared,
which columns it adds to Table 2 and which figures or tables it adds to the report. The
workflow (the rules' inputs, the agreement jobs, the report's sections) and the package
(Table 2, the heatmaps, the report page) read these declarations and nothing else, so a new
characteristic is one more :class:`Characteristic` in :data:`CHARACTERISTICS`, plus the
rule file that writes each model's result and its ``include:`` line in the Snakefile.

Only the standard library is imported: the workflow reads this module when it is parsed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


class Comparison(enum.Enum):
    """How two models' results are compared."""

    #: Each model's result is a list of item ids (a set); the pair's record is their Jaccard and
    #: counts, and agreement.csv has its agreement beyond chance.
    SETS = "sets"
    #: Each model's result maps K (as text) to a list of ids; the sets are compared at every K
    #: (the record's ``sweep``) and at Table 2's K (the record itself, and agreement.csv).
    SETS_PER_K = "sets per K"
    #: A job of the characteristic's own compares each pair and writes its record; the record's
    #: fields are Table 2's numbers (no id sets, so no agreement beyond chance).
    PAIR_RECORDS = "pair records"


@dataclass(frozen=True)
class Section:
    """A figure (an image) or a table (CSV) a characteristic adds to the report, with its caption;
    the caption's first sentence is the section's heading."""

    file: str
    caption: str


@dataclass(frozen=True)
class Characteristic:
    """One characteristic: what it is, where its results are, and what it adds to the tables and the report.

    ``result`` is where each model's result is (``{model}`` in the path), or for
    :attr:`Comparison.PAIR_RECORDS` where each pair's record is (``{a}`` and ``{b}``).
    ``universe`` is the file of the items the sets are subsets of (a JSON list of ids, a SQuAD
    file or a JSON Lines file), ``answers`` optionally each model's answers (the sets are then
    the errors of those answers: agreement.csv adds answer agreement and negative flips).
    ``seed_baseline``: the seed baseline model makes such a set too (a set of the QA fine-tune).
    ``table2`` maps each of its Table 2 columns to the field of the pair record it shows, in the
    paper's order; ``heatmap`` names the Table 2 columns drawn as its heatmap when it has no
    sets (a set characteristic's heatmap shows its agreement beyond chance). ``sections`` maps a
    report section's name to its file and caption, in report order. ``needs_data``: the
    ``data`` entry of the config without which it is not computed (None: always).
    """

    name: str
    title: str
    description: str
    result: str
    comparison: Comparison = Comparison.SETS
    universe: str | None = None
    answers: str | None = None
    seed_baseline: bool = False
    table2: Mapping[str, str] = field(default_factory=dict)
    heatmap: tuple[str, ...] = ()
    sections: Mapping[str, Section] = field(default_factory=dict)
    needs_data: str | None = None

    def __post_init__(self):
        placeholders = ("{a}", "{b}") if self.comparison is Comparison.PAIR_RECORDS else ("{model}",)
        missing = [p for p in placeholders if p not in self.result]
        if missing:
            raise ValueError(f"characteristic {self.name!r}: its result {self.result!r} needs {', '.join(missing)}")
        if self.compares_sets and self.universe is None:
            raise ValueError(f"characteristic {self.name!r}: a set comparison needs the universe of its items")
        unknown = [column for column in self.heatmap if column not in self.table2]
        if unknown:
            raise ValueError(f"characteristic {self.name!r}: heatmap columns {unknown} are not its Table 2 columns")

    @property
    def compares_sets(self) -> bool:
        """True when each model's result is a set of ids (agreement.csv has its pairs)."""
        return self.comparison is not Comparison.PAIR_RECORDS

    def result_of(self, model: str) -> str:
        return self.result.format(model=model)

    def record_of(self, a: str, b: str) -> str:
        return self.result.format(a=a, b=b)


_FIGURE1 = "the mean Jaccard of the two models' K-nearest-neighbour sets of the same texts, as K grows."

ERRORS = Characteristic(
    name="errors",
    title="Prediction errors",
    description="the test questions a model answers wrongly (its normalised answer matches no gold answer; "
                "any answer to an unanswerable question is wrong)",
    result="results/errors/{model}/errors.json",
    universe="results/data/qa/test.json",
    answers="results/predict/{model}/predictions.json",
    seed_baseline=True,
    table2={"prediction_errors": "jaccard"},
)

REPRESENTATION = Characteristic(
    name="representation",
    title="Data representation",
    description="per test question, the Jaccard of the two models' K nearest neighbours among the test "
                "questions ([CLS] vectors, cosine), averaged over the questions, before and after fine-tuning",
    result="results/compare/representation/{a}__{b}.json",
    comparison=Comparison.PAIR_RECORDS,
    table2={"repr_before_mean": "before_mean", "repr_before_var": "before_var",
            "repr_after_mean": "after_mean", "repr_after_var": "after_var"},
    heatmap=("repr_before_mean", "repr_after_mean"),
    sections={
        "fig1a": Section("results/figures/fig1a.png", f"Figure 1a. Data representation before fine-tuning: {_FIGURE1}"),
        "fig1b": Section("results/figures/fig1b.png", f"Figure 1b. Data representation after fine-tuning: {_FIGURE1}"),
    },
)

DISTRIBUTION = Characteristic(
    name="distribution",
    title="Data distribution",
    description="the challenge questions a model's Deep-kNN detector flags as out-of-distribution",
    result="results/ood/{model}/flagged.json",
    comparison=Comparison.SETS_PER_K,
    universe="results/data/qa/challenge.json",
    table2={"data_distribution": "jaccard"},
    sections={
        "fig1c": Section("results/figures/fig1c.png",
                         "Figure 1c. Data distribution: the Jaccard of the two models' sets of challenge questions "
                         "flagged as out-of-distribution by the deep-kNN detector, as its K grows."),
    },
)

ADVERSARIAL = Characteristic(
    name="adversarial",
    title="Adversarial vulnerability",
    description="the attacked sentiment reviews whose prediction BERT-Attack changed (a successful attack)",
    result="results/attack/{model}/succeeded.json",
    universe="results/data/sentiment/attack_sample.jsonl",
    table2={"adversarial": "jaccard"},
    sections={
        "table3": Section("results/table3.csv",
                          "Table 3. Adversarial vulnerability, in the paper's convention: each model's accuracy "
                          "(a fraction) on the attacked sample of sentiment reviews before and after BERT-Attack, "
                          "the absolute change (original - after: a drop is positive) and the relative change (% "
                          "of the original accuracy); a larger drop = more vulnerable. Reviews a model already "
                          "gets wrong are not attacked and count as wrong both before and after. "
                          "attack_success_rate: % of the attacked reviews whose prediction the attack changed; "
                          "avg_queries: target-model queries per attacked review."),
    },
    needs_data="sentiment",
)

#: Every characteristic, in Table 2's order (the paper's).
CHARACTERISTICS: tuple[Characteristic, ...] = (ERRORS, REPRESENTATION, DISTRIBUTION, ADVERSARIAL)


def _check_unique(characteristics: Iterable[Characteristic]) -> None:
    """Names, Table 2 columns and report sections name one characteristic's each."""
    for what, names in (("name", [c.name for c in characteristics]),
                        ("Table 2 column", [column for c in characteristics for column in c.table2]),
                        ("report section", [section for c in characteristics for section in c.sections])):
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"characteristics: the {what}(s) {twice} are declared twice")


def configured(config: Mapping) -> list[Characteristic]:
    """The characteristics a config computes, in Table 2's order."""
    _check_unique(CHARACTERISTICS)
    return [c for c in CHARACTERISTICS if c.needs_data is None or c.needs_data in config["data"]]


def by_name(names: Iterable[str]) -> list[Characteristic]:
    """The declarations of the named characteristics, in the given order (as a rule passes them to its job)."""
    _check_unique(CHARACTERISTICS)
    declared = {c.name: c for c in CHARACTERISTICS}
    unknown = [name for name in names if name not in declared]
    if unknown:
        raise ValueError(f"no characteristic {unknown} is declared in miniature.characteristics")
    return [declared[name] for name in names]
