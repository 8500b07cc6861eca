"""Generated data for the offline demo.

Everything here is made up by this module from a seed, so the demo needs no download.
Three kinds of text are generated:

* biographies with extractive questions about them (the in-distribution QA task),
* a challenge set of questions at graded distances from those biographies, from questions
  that only name the person differently to football match reports (the out-of-domain set),
* short film reviews with a positive/negative label (the sentiment task).

The choices below follow what a prototype of the workflow showed on tiny models:
answers are single words (years, cities, jobs, instruments) because multi-token spans
were not learnt in a few thousand steps; difficulty comes from several people per
passage, distracting facts of the same type ("moved to <city> in <year>") and questions
about facts that the passage does not state (unanswerable), so that models of different
capacity make different errors.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from miniature.files import atomic_file

FIRST_NAMES = (
    "anna", "boris", "clara", "daniel", "elena", "felix", "greta", "hugo", "ines", "jonas",
    "karin", "leo", "maria", "nils", "olga", "pavel", "rosa", "simon", "tara", "umar",
    "vera", "walter", "xenia", "yusuf", "zoe", "agnes", "bruno", "celia", "dmitri", "edith",
    "frank", "gloria", "henrik", "ida", "jakob", "lena", "marco", "nora", "oscar", "petra",
)
LAST_NAMES = (
    "berg", "costa", "dahl", "eriksen", "fischer", "garcia", "hansen", "ivanov", "jensen",
    "keller", "larsen", "moreau", "novak", "olsen", "petrov", "quist", "romano", "schmidt",
    "torres", "ullman", "vogel", "weber", "young", "zimmer", "adler", "brandt", "carlsen",
    "duval", "engel", "falk", "gruber", "holm", "iversen", "janssen", "kraus", "lund",
    "meyer", "nagel", "ortiz", "pohl",
)
CITIES = (
    "lisbon", "oslo", "vienna", "prague", "dublin", "madrid", "berlin", "warsaw", "athens",
    "rome", "paris", "london", "bergen", "krakow", "porto", "munich", "lyon", "naples",
    "sevilla", "zurich", "geneva", "turin", "hamburg", "bremen", "leipzig", "dresden",
    "gdansk", "riga", "tallinn", "vilnius", "helsinki", "stockholm", "uppsala", "malmo",
    "aarhus", "bruges", "ghent", "antwerp", "utrecht", "leiden",
)
JOBS = (
    "baker", "painter", "carpenter", "teacher", "doctor", "lawyer", "farmer", "sailor",
    "tailor", "butcher", "nurse", "architect", "engineer", "poet", "journalist", "chemist",
    "pharmacist", "librarian", "gardener", "blacksmith", "potter", "weaver", "miner",
    "surgeon", "banker", "printer", "brewer", "clockmaker", "photographer", "translator",
)
INSTRUMENTS = (
    "violin", "piano", "cello", "flute", "guitar", "trumpet", "harp", "clarinet", "oboe",
    "accordion", "drums", "saxophone", "banjo", "organ", "trombone",
)
YEARS = tuple(str(y) for y in range(1850, 2000))

# Sentence templates per fact. {n} is how the person is referred to (full name the first
# time, then surname or pronoun), {v} is the answer word.
FACT_TEMPLATES = {
    "born_year": ("{n} was born in {v}.", "{n} was born in the year {v}.", "in {v}, {n} was born."),
    "home": ("{n} grew up in {v}.", "{n} comes from {v}.", "{n} spent childhood in {v}."),
    "job": ("{n} worked as a {v}.", "{n} was a {v} by trade.", "for many years {n} was a {v}."),
    "instrument": ("{n} played the {v}.", "{n} learned to play the {v} as a child.",
                   "in the evenings {n} played the {v}."),
}
QUESTION_TEMPLATES = {
    "born_year": ("when was {n} born?", "in which year was {n} born?", "what year was {n} born in?"),
    "home": ("where did {n} grow up?", "which city does {n} come from?", "what is the home town of {n}?"),
    "job": ("what did {n} work as?", "what was the job of {n}?", "what was the profession of {n}?"),
    "instrument": ("which instrument did {n} play?", "what did {n} play?",
                   "what instrument did {n} learn?"),
    "moved_city": ("where did {n} move to?", "to which city did {n} move?"),
    "moved_year": ("when did {n} move to {c}?", "in which year did {n} move to {c}?"),
}
FACT_POOLS = {"born_year": YEARS, "home": CITIES, "job": JOBS, "instrument": INSTRUMENTS}


@dataclass
class _Person:
    first: str
    last: str
    facts: dict[str, str] = field(default_factory=dict)
    moved: tuple[str, str] | None = None  # (city, year): a distracting fact of the same types

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


class _PassageWriter:
    """Appends sentences and remembers the character offset of every answer word."""

    def __init__(self) -> None:
        self.text = ""
        self.offsets: dict[tuple, int] = {}

    def add(self, template: str, mention: str, value: str, key: tuple) -> None:
        sentence = template.format(n=mention, v=value)
        sentence = sentence[0].upper() + sentence[1:]
        if self.text:
            self.text += " "
        # The answer word occurs once in the sentence: templates put {n} and {v} apart and
        # names never equal answer words.
        self.offsets[key] = len(self.text) + sentence.index(value)
        self.text += sentence


def _biography(rng: random.Random, n_people: int, first_names: tuple = FIRST_NAMES,
               last_names: tuple = LAST_NAMES) -> tuple[str, list[_Person], dict]:
    firsts = rng.sample(first_names, n_people)
    lasts = rng.sample(last_names, n_people)
    people = []
    writer = _PassageWriter()
    for i, (first, last) in enumerate(zip(firsts, lasts)):
        person = _Person(first, last)
        kinds = rng.sample(list(FACT_TEMPLATES), rng.randint(2, 4))
        for j, kind in enumerate(kinds):
            value = rng.choice(FACT_POOLS[kind])
            person.facts[kind] = value
            # Mostly the full name, sometimes the surname alone: resolving the latter is
            # harder, and that is where models of different capacity part ways.
            mention = person.name if j == 0 or rng.random() < 0.7 else person.last
            writer.add(rng.choice(FACT_TEMPLATES[kind]), mention, value, (i, kind))
        if rng.random() < 0.5:
            city = rng.choice([c for c in CITIES if c != person.facts.get("home")])
            born = int(person.facts.get("born_year", rng.choice(YEARS)))
            year = str(min(born + rng.randint(15, 60), 2020))
            person.moved = (city, year)
            sentence = f"{person.last.capitalize()} moved to {city} in {year}."
            start = len(writer.text) + 1 if writer.text else 0
            writer.offsets[(i, "moved_city")] = start + sentence.index(city)
            writer.offsets[(i, "moved_year")] = start + sentence.index(year)
            writer.text += (" " if writer.text else "") + sentence
        people.append(person)
    return writer.text, people, writer.offsets


def _sentence_case(text: str) -> str:
    return text[0].upper() + text[1:]


def _capitalise_names(text: str) -> str:
    """Capitalise proper nouns; lengths stay the same, so answer offsets stay valid."""
    words = text.split(" ")
    return " ".join(w[0].upper() + w[1:] if w.rstrip(".,?:") in _PROPER_NOUNS else w for w in words)


def generate_qa(n_questions: int, seed: int, prefix: str, unanswerable_share: float = 1 / 3) -> dict:
    """Biography passages with questions, in the SQuAD 2.0 JSON layout.

    Ids are ``<prefix>-<number>``. About ``unanswerable_share`` of the questions have no
    answer in the passage: either the person is named but the asked fact is not stated,
    or the asked person does not appear (a first name of the passage with another surname).
    """
    rng = random.Random(f"qa-{seed}-{prefix}")
    paragraphs: list[dict] = []
    made = 0
    while made < n_questions:
        # One person in most passages, two in the rest: the second person's facts of the same
        # types are distractors that only a model which matches names can see through.
        context, people, offsets = _biography(rng, 1 if rng.random() < 0.6 else 2)
        qas = []
        for _ in range(min(rng.randint(2, 4), n_questions - made)):
            qa = _question(rng, people, offsets, context, unanswerable_share)
            if any(qa["question"] == other["question"] for other in qas):
                continue  # the same question twice about one passage would count twice
            qa["id"] = f"{prefix}-{made:06d}"
            qas.append(qa)
            made += 1
        paragraphs.append({"context": _capitalise_names(context), "qas": qas})
    # Names are capitalised after offsets were taken; capitalising keeps lengths unchanged.
    for p in paragraphs:
        for qa in p["qas"]:
            qa["question"] = _sentence_case(_capitalise_names(qa["question"]))
            for a in qa["answers"]:
                a["text"] = p["context"][a["answer_start"]: a["answer_start"] + len(a["text"])]
    return {"version": "v2.0", "data": [{"title": f"{prefix}-biographies", "paragraphs": paragraphs}]}


def _question(rng, people, offsets, context, unanswerable_share) -> dict:
    i = rng.randrange(len(people))
    person = people[i]
    if rng.random() < unanswerable_share:
        if rng.random() < 0.5:
            missing = [k for k in FACT_TEMPLATES if k not in person.facts]
            if missing:
                kind = rng.choice(missing)
                q = rng.choice(QUESTION_TEMPLATES[kind]).format(n=person.name)
                return {"question": q, "answers": [], "is_impossible": True}
        # A person the passage does not mention: half of the time someone with a new first
        # name and surname (a model that checks whether the name occurs at all gets it),
        # half of the time a first name of the passage with another surname (harder).
        surname = rng.choice([s for s in LAST_NAMES if s not in {p.last for p in people}])
        first = person.first if rng.random() < 0.5 else rng.choice(
            [f for f in FIRST_NAMES if f not in {p.first for p in people}])
        kind = rng.choice(list(FACT_TEMPLATES))
        q = rng.choice(QUESTION_TEMPLATES[kind]).format(n=f"{first} {surname}")
        return {"question": q, "answers": [], "is_impossible": True}
    kinds = list(person.facts) + (["moved_city", "moved_year"] if person.moved else [])
    kind = rng.choice(kinds)
    if kind == "moved_city":
        value = person.moved[0]
    elif kind == "moved_year":
        value = person.moved[1]
    else:
        value = person.facts[kind]
    q = rng.choice(QUESTION_TEMPLATES[kind]).format(n=person.name, c=person.moved[0] if person.moved else "")
    start = offsets[(i, kind)]
    assert context[start: start + len(value)] == value
    return {"question": q, "answers": [{"text": value, "answer_start": start}], "is_impossible": False}


# --- out-of-domain challenge set: match reports -------------------------------------------

TEAMS = (
    "rovers", "united", "athletic", "wanderers", "rangers", "albion", "harriers", "thistle",
    "celtic", "orient", "villa", "argyle", "dynamo", "sporting", "olympic", "hotspur",
)
STADIUMS = ("eastfield", "riverside", "hillpark", "northgate", "millbank", "oakwood", "seaview", "kingsmead")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SCORES = ("one", "two", "three", "four", "five")


def generate_match_reports(n_questions: int, seed: int, prefix: str) -> dict:
    """Football match reports with questions, SQuAD 2.0 layout: the out-of-domain challenge set."""
    rng = random.Random(f"match-{seed}-{prefix}")
    paragraphs = []
    made = 0
    while made < n_questions:
        home, away = rng.sample(TEAMS, 2)
        stadium, day = rng.choice(STADIUMS), rng.choice(DAYS)
        scorer_last, referee_last = rng.sample(LAST_NAMES, 2)
        scorer = f"{rng.choice(FIRST_NAMES)} {scorer_last}"
        goals = rng.choice(SCORES[1:4])
        referee = f"{rng.choice(FIRST_NAMES)} {referee_last}"
        parts = [
            f"match report: {home} beat {away} at {stadium} on {day}.",
            f"{scorer} scored {goals} goals for {home}.",
            f"the referee, {referee}, showed {rng.choice(SCORES)} yellow cards.",
        ]
        context = _capitalise_names(" ".join(p[0].upper() + p[1:] for p in parts))
        facts = [
            (f"who did {home} beat on {day}?", away, context.index(away.capitalize())),
            (f"where did {home} play on {day}?", stadium, context.index(stadium.capitalize())),
            (f"on which day did {home} play {away}?", day, context.index(day.capitalize())),
            (f"who refereed the match at {stadium}?", referee.split()[1],
             context.index(referee.split()[1].capitalize())),
        ]
        qas = []
        for question, answer, start in rng.sample(facts, rng.randint(2, 3)):
            text = context[start: start + len(answer)]
            qas.append({"id": f"{prefix}-{made:06d}", "question": _sentence_case(_capitalise_names(question)),
                        "answers": [{"text": text, "answer_start": start}], "is_impossible": False})
            made += 1
            if made >= n_questions:
                break
        if made < n_questions and rng.random() < 0.3:
            other = rng.choice([t for t in TEAMS if t not in (home, away)])
            qas.append({"id": f"{prefix}-{made:06d}",
                        "question": _sentence_case(_capitalise_names(f"who did {other} beat?")),
                        "answers": [], "is_impossible": True})
            made += 1
        paragraphs.append({"context": context, "qas": qas})
    return {"version": "v2.0", "data": [{"title": f"{prefix}-match-reports", "paragraphs": paragraphs}]}


# --- the challenge set: questions at graded distances from the biographies ----------------

# Facts of kinds the training biographies never state, and names from outside their pools.
NEW_FACT_TEMPLATES = {
    "language": (("{n} spoke {v} at home.", "{n} learned {v} at school."),
                 ("which language did {n} speak?", "what language did {n} learn?")),
    "pet": (("{n} kept a {v}.", "{n} looked after a {v} for years."),
            ("which animal did {n} keep?", "what pet did {n} have?")),
    "food": (("{n} loved to eat {v}.", "every day {n} ate {v}."),
             ("what did {n} love to eat?", "which food did {n} eat every day?")),
}
NEW_FACT_POOLS = {
    "language": ("french", "german", "polish", "greek", "danish", "dutch", "czech", "finnish", "spanish", "italian"),
    "pet": ("dog", "cat", "parrot", "horse", "goat", "rabbit", "tortoise", "canary", "pony", "ferret"),
    "food": ("soup", "bread", "cheese", "apples", "herring", "dumplings", "porridge", "pancakes", "olives", "plums"),
}
NEW_FIRST_NAMES = ("amir", "bianca", "chen", "dara", "emeka", "farah", "goran", "hana", "ivo", "jamal", "kenji",
                   "lucia", "mateo", "nadia", "omar", "priya")
NEW_LAST_NAMES = ("abe", "bakker", "cruz", "diallo", "evans", "fontaine", "gomez", "haddad", "ito", "jovanovic",
                  "kowalski", "lopez", "mensah", "nakamura", "okafor", "park")

# The tiers, nearest first, and their shares of the challenge set. A detector that finds the
# far tier unfamiliar but not the near ones flags part of the set, and detectors built on
# different models draw that line in different places: as NewsQA is near SQuAD in the paper.
CHALLENGE_TIERS = (
    ("surname_questions", 0.2),    # training-style passages; the question names the person by surname
    ("extra_fact", 0.25),          # one fact of a new kind in the passage; questions about the usual facts
    ("new_fact_questions", 0.2),   # the same passages; questions about the new fact
    ("new_names", 0.2),            # training-style passages about people with names never seen
    ("match_reports", 0.15),       # another genre altogether
)


def _add_new_fact(rng: random.Random, writer_text: str, person: _Person) -> tuple[str, str, int, str]:
    """Append one sentence with a fact of a new kind; return the text, the kind, the answer's
    offset and the answer."""
    kind = rng.choice(list(NEW_FACT_TEMPLATES))
    value = rng.choice(NEW_FACT_POOLS[kind])
    sentence = _sentence_case(rng.choice(NEW_FACT_TEMPLATES[kind][0]).format(n=person.last, v=value))
    start = len(writer_text) + 1
    return writer_text + " " + sentence, kind, start + sentence.index(value), value


def _tier_paragraph(rng: random.Random, tier: str, n: int) -> dict:
    """One passage of ``tier`` with up to ``n`` answerable questions (ids are set later)."""
    names = (NEW_FIRST_NAMES, NEW_LAST_NAMES) if tier == "new_names" else (FIRST_NAMES, LAST_NAMES)
    context, people, offsets = _biography(rng, 1, *names)
    person = people[0]
    kinds = list(person.facts) + (["moved_city", "moved_year"] if person.moved else [])
    asked = []
    for kind in rng.sample(kinds, min(n, len(kinds))):
        value = person.moved[kinds.index(kind) - len(person.facts)] if kind.startswith("moved") else person.facts[kind]
        template = rng.choice(QUESTION_TEMPLATES[kind])
        name = person.last if tier == "surname_questions" else person.name
        asked.append((template.format(n=name, c=person.moved[0] if person.moved else ""), value, offsets[(0, kind)]))
    if tier in ("extra_fact", "new_fact_questions"):
        context, kind, start, value = _add_new_fact(rng, context, person)
        if tier == "new_fact_questions":
            asked = [(rng.choice(NEW_FACT_TEMPLATES[kind][1]).format(n=person.name), value, start)]
    context = _capitalise_names(context)
    qas = [{"question": _sentence_case(_capitalise_names(q)), "answers": [{"text": context[s: s + len(v)],
            "answer_start": s}], "is_impossible": False} for q, v, s in asked]
    return {"context": context, "qas": qas}


def generate_graded_challenge(n_questions: int, seed: int, prefix: str) -> dict:
    """The out-of-domain challenge set, SQuAD 2.0 layout: questions at graded distances from
    the training biographies (:data:`CHALLENGE_TIERS`), each tier its share of ``n_questions``.
    Ids are ``<prefix>-<tier>-<number>``, so a flagged question's tier can be read off its id."""
    rng = random.Random(f"graded-{seed}-{prefix}")
    counts = [round(share * n_questions) for _, share in CHALLENGE_TIERS]
    counts[0] += n_questions - sum(counts)
    articles = []
    for (tier, _), count in zip(CHALLENGE_TIERS, counts):
        if tier == "match_reports":
            paragraphs = generate_match_reports(count, seed, prefix)["data"][0]["paragraphs"]
        else:
            paragraphs, made = [], 0
            while made < count:
                paragraph = _tier_paragraph(rng, tier, min(rng.randint(1, 3), count - made))
                made += len(paragraph["qas"])
                paragraphs.append(paragraph)
        made = 0
        for paragraph in paragraphs:
            for qa in paragraph["qas"]:
                qa["id"] = f"{prefix}-{tier}-{made:06d}"
                made += 1
        articles.append({"title": f"{prefix}-{tier}", "paragraphs": paragraphs})
    return {"version": "v2.0", "data": articles}


# Names, places and days are written capitalised in every generated text.
_PROPER_NOUNS = frozenset(FIRST_NAMES + LAST_NAMES + NEW_FIRST_NAMES + NEW_LAST_NAMES + CITIES + TEAMS + STADIUMS
                          + DAYS)

# The generated QA styles a config may name (data.qa.<split>.generate.style).
QA_STYLES = {"biographies": generate_qa, "match_reports": generate_match_reports,
             "graded_challenge": generate_graded_challenge}


# --- sentiment: film reviews --------------------------------------------------------------

POSITIVE = ("wonderful", "brilliant", "moving", "charming", "superb", "delightful", "gripping", "clever")
NEGATIVE = ("dull", "awful", "boring", "clumsy", "tedious", "dreadful", "messy", "shallow")
ASPECTS = ("acting", "plot", "music", "script", "camera work", "ending", "dialogue", "pacing")
FILM_WORDS = ("film", "movie", "picture", "story")


def _opinion(rng: random.Random) -> tuple[str, int]:
    """One clause about one aspect and its polarity (+1 / -1); negation flips it."""
    positive = rng.random() < 0.5
    adjective = rng.choice(POSITIVE if positive else NEGATIVE)
    negated = rng.random() < 0.25
    polarity = (1 if positive else -1) * (-1 if negated else 1)
    verb = "was not" if negated else "was"
    return f"the {rng.choice(ASPECTS)} {verb} {adjective}", polarity


def generate_reviews(n: int, seed: int, prefix: str) -> list[dict]:
    """Short reviews labelled 1 (positive) or 0 (negative) by the sum of clause polarities.

    The final recommendation sentence agrees with the label, but it is left out of a third
    of the reviews so that a classifier must also read the clauses (and their negations).
    """
    rng = random.Random(f"review-{seed}-{prefix}")
    rows = []
    while len(rows) < n:
        clauses = [_opinion(rng) for _ in range(rng.choice((1, 3)))]
        score = sum(p for _, p in clauses)
        label = 1 if score > 0 else 0
        sentences = [f"this {rng.choice(FILM_WORDS)} is about {rng.choice(JOBS)}s in {rng.choice(CITIES)}."]
        sentences += [c + "." for c, _ in clauses]
        if rng.random() < 2 / 3:
            sentences.append("i would recommend it." if label else "i would not recommend it.")
        text = " ".join(s[0].upper() + s[1:] for s in sentences)
        rows.append({"id": f"{prefix}-{len(rows):06d}", "text": _capitalise_names(text), "label": label})
    return rows


def generate_corpus(n_documents: int, seed: int) -> list[str]:
    """Unlabelled documents (one per line) for tokenizer training and masked-LM pre-training.

    It mixes the three styles, like a general pre-training corpus that has seen news,
    biographies and reviews; the downstream splits use other seeds, so no test passage is
    seen in pre-training.
    """
    rng = random.Random(f"corpus-{seed}")
    docs = []
    for _i in range(n_documents):
        kind = rng.random()
        if kind < 0.6:
            docs.append(_capitalise_names(_biography(rng, rng.randint(1, 2))[0]))
        elif kind < 0.8:
            report = generate_match_reports(1, seed=rng.randrange(10**9), prefix="c")
            docs.append(report["data"][0]["paragraphs"][0]["context"])
        else:
            docs.append(generate_reviews(1, seed=rng.randrange(10**9), prefix="c")[0]["text"])
    return docs


def write_corpus(path, n_documents: int, seed: int) -> None:
    """The pre-training corpus as a text file, one document per line, written atomically."""
    with atomic_file(path) as f:
        f.write("\n".join(generate_corpus(n_documents, seed)) + "\n")
