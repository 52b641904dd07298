"""Voting and the judge's grouping: pure functions."""

from orchestration.voting import Ballot, judged_forms, normalise, tally


def test_normalise_ignores_case_accents_punctuation_and_spacing():
    assert normalise("  Café,  OK! ") == normalise("cafe ok") == "cafe ok"


def test_judged_forms_follow_chains_and_reject_bad_replies():
    answers = ["A", "a too", "b", "also a"]
    assert judged_forms("1 1 3 2", answers) == ["a", "a", "b", "a"]
    assert judged_forms("1 1", answers) is None  # one number per answer
    assert judged_forms("1 3 3 1", answers) is None  # only earlier (or its own) answers


def test_a_unanimous_vote():
    result = tally([Ballot(1, "a", "Yes"), Ballot(2, "b", "yes.")], min_agreement=1.0)
    assert (result["consensus"], result["agreement"], result["answer"], result["tie"]) == (
        True,
        1.0,
        "Yes",
        False,
    )


def test_nobody_answered():
    result = tally([Ballot(1, "a", None), Ballot(2, "b", None)], min_agreement=0.5)
    assert (result["consensus"], result["agreement"], result["answer"]) == (False, 0.0, "")
