import pytest

from sdc.policy import CkmParams, Policy, PolicyError, parse_policy


def test_documented_defaults():
    p = Policy()
    assert (p.threshold, p.dominance_n, p.dominance_k, p.p_percent) == (10, 2, 85.0, 10.0)
    assert p.ckm == CkmParams(D=2, V=1.0, js=2, key_bits=32, magnitude_delta=0.05)
    assert p.secondary and p.perturb and p.rounding_base is None


def test_parse_full_policy_with_measure_override():
    p = parse_policy(
        {
            "id": "fiu",
            "threshold": 15,
            "dominance": {"n": 1, "k": 75},
            "p_percent": 12.5,
            "secondary_cost": "unit",
            "rounding_base": 5,
            "ckm": {"D": 3, "V": 2},
            "measures": {"amount": {"p_percent": 20, "rounding_base": None}},
        }
    )
    assert (p.id, p.threshold, p.dominance_n, p.dominance_k) == ("fiu", 15, 1, 75.0)
    assert p.ckm.D == 3 and p.ckm.js == 2
    amount = p.for_measure("amount")
    assert amount.p_percent == 20.0 and amount.rounding_base is None and amount.threshold == 15
    assert p.for_measure("other") is p


def test_every_problem_is_listed_at_once():
    with pytest.raises(PolicyError) as exc:
        parse_policy(
            {
                "threshold": "ten",
                "dominance": {"n": 3, "k": 120},
                "colour": "red",
                "ckm": {"V": 9, "bits": 1},
                "rounding_base": 7,
                "measures": {"amount": {"p_percent": -1, "id": "x"}},
            }
        )
    problems = exc.value.problems
    expected = [
        "threshold: must be an integer",
        "dominance.n: must be 1 or 2",
        "dominance.k: must be a percentage in (0, 100]",
        "colour: unknown setting",
        "ckm.V: variance must be > 0 and at most D squared",
        "ckm.bits: unknown setting",
        "rounding_base: must be null, 5 or 10",
        "measures.amount.p_percent: must be a percentage",
        "measures.amount.id: unknown setting",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in problems), text
    assert len(problems) == len(expected)


def test_policy_must_be_a_mapping():
    with pytest.raises(PolicyError):
        parse_policy(["threshold", 10])  # type: ignore[arg-type]


def test_booleans_are_not_numbers():
    with pytest.raises(PolicyError) as exc:
        parse_policy({"threshold": True, "secondary": "yes"})
    assert exc.value.problems == [
        "threshold: must be an integer",
        "secondary: must be true or false",
    ]
