from miniature import demo_data
from miniature.data import check_squad


def _questions(squad):
    return [(p, qa) for article in squad["data"] for p in article["paragraphs"] for qa in p["qas"]]


def test_qa_generation_is_deterministic_and_well_formed():
    a = demo_data.generate_qa(300, seed=1, prefix="test")
    assert a == demo_data.generate_qa(300, seed=1, prefix="test")
    assert a != demo_data.generate_qa(300, seed=2, prefix="test")
    check_squad(a, "generated")  # layout, unique ids, offsets point at the answer text
    questions = _questions(a)
    assert len(questions) == 300
    unanswerable = sum(qa["is_impossible"] for _, qa in questions)
    assert 0.2 < unanswerable / 300 < 0.45
    for _p, qa in questions:
        assert qa["id"].startswith("test-")
        assert qa["is_impossible"] == (not qa["answers"])
        for answer in qa["answers"]:
            assert len(answer["text"].split()) == 1  # single-word answers are learnable by tiny models


def test_splits_do_not_share_passages():
    train = {p["context"] for p, _ in _questions(demo_data.generate_qa(500, 0, "train"))}
    test = {p["context"] for p, _ in _questions(demo_data.generate_qa(500, 0, "test"))}
    assert not train & test


def test_match_reports_are_a_different_style():
    reports = demo_data.generate_match_reports(60, seed=0, prefix="challenge")
    check_squad(reports, "reports")
    contexts = [p["context"] for p, _ in _questions(reports)]
    assert all(c.startswith("Match report:") for c in contexts)
    assert not any(" was born " in c for c in contexts)


def test_reviews_have_both_labels_and_negation():
    rows = demo_data.generate_reviews(400, seed=0, prefix="s")
    assert {r["label"] for r in rows} == {0, 1}
    assert len({r["id"] for r in rows}) == 400
    assert any(" was not " in r["text"] for r in rows)
    # A single negated positive clause with no recommendation sentence is a negative review.
    for r in rows:
        if r["text"].count(" was ") == 1 and " was not " in r["text"] and "recommend" not in r["text"]:
            clause = r["text"].split(" was not ")[1].rstrip(".")
            assert r["label"] == (0 if clause in demo_data.POSITIVE else 1)


def test_corpus_mixes_the_three_styles():
    docs = demo_data.generate_corpus(200, seed=0)
    assert len(docs) == 200 and all("\n" not in d for d in docs)
    assert any(d.startswith("Match report:") for d in docs)
    assert any("recommend" in d or " was " in d and "film" in d for d in docs)
    assert any(" was born " in d or " worked as " in d for d in docs)


def test_graded_challenge_has_every_tier_in_its_share():
    squad = demo_data.generate_graded_challenge(400, seed=0, prefix="challenge")
    assert squad == demo_data.generate_graded_challenge(400, seed=0, prefix="challenge")
    check_squad(squad, "graded challenge")
    by_tier = {}
    for article in squad["data"]:
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                prefix, tier, _number = qa["id"].split("-")
                assert prefix == "challenge"
                by_tier.setdefault(tier, []).append((p["context"], qa))
    assert sum(len(v) for v in by_tier.values()) == 400
    for tier, share in demo_data.CHALLENGE_TIERS:
        assert abs(len(by_tier[tier]) - share * 400) <= 1, tier


def test_graded_challenge_tiers_differ_from_the_biographies_as_documented():
    squad = demo_data.generate_graded_challenge(300, seed=1, prefix="c")
    tiers = {a["title"].split("-", 1)[1]: [(p["context"], qa) for p in a["paragraphs"] for qa in p["qas"]]
             for a in squad["data"]}
    new_fact_words = {w for pool in demo_data.NEW_FACT_POOLS.values() for w in pool}
    training_names = {n.capitalize() for n in demo_data.FIRST_NAMES + demo_data.LAST_NAMES}
    new_names = {n.capitalize() for n in demo_data.NEW_FIRST_NAMES + demo_data.NEW_LAST_NAMES}

    def words(text):
        return {w.strip(".,?") for w in text.split()}

    for _context, qa in tiers["surname_questions"]:
        # The question names the person by surname alone.
        assert not words(qa["question"]) & {n.capitalize() for n in demo_data.FIRST_NAMES}
    for context, qa in tiers["extra_fact"]:
        assert words(context.lower()) & new_fact_words
        assert qa["answers"][0]["text"].lower() not in new_fact_words
    for _context, qa in tiers["new_fact_questions"]:
        assert qa["answers"][0]["text"].lower() in new_fact_words
    for context, _qa in tiers["new_names"]:
        assert words(context) & new_names and not words(context) & training_names
    assert all(context.startswith("Match report:") for context, _ in tiers["match_reports"])
