"""TaskRouter expression evaluator."""

from __future__ import annotations

from typing import Any

import pytest

from twilio_sandbox.expressions import ExpressionError, check, evaluate

ATTRS: dict[str, Any] = {
    "handedOff": True,
    "ai": False,
    "skills": ["en", "es"],
    "customer": {"tier": "gold"},
    "age": 42,
    "name": "Alice Agent",
    "empty": None,
}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("handedOff == true", True),
        ("handedOff != true", False),
        ("missing == true", False),
        ("missing != true", True),
        ("ai == true", False),
        ("ai != true", True),
        ("1==1", True),
        ("1 == 2", False),
        ("customer.tier == 'gold'", True),
        ('customer.tier == "silver"', False),
        ("age > 40", True),
        ("age < 40", False),
        ("age >= 42 AND age <= 42", True),
        ("skills HAS 'es'", True),
        ("skills HAS 'fr'", False),
        ("customer.tier IN ['gold', 'platinum']", True),
        ("customer.tier NOT IN ['gold']", False),
        ("name CONTAINS 'Agent'", True),
        ("NOT (handedOff == true)", False),
        ("ai == true OR handedOff == true", True),
        ("ai == true or (age > 1 and skills has 'en')", True),
        ("empty == null", True),
        ("handedOff", True),
        ("ai", False),
        ("age == '42'", True),
    ],
)
def test_evaluate(expr: str, expected: bool) -> None:
    assert evaluate(expr, ATTRS) is expected


@pytest.mark.parametrize("bad", ["", "a ==", "(a == 1", "a == 1 b", "a NOT 1", "a == @", "[1, 2"])
def test_malformed(bad: str) -> None:
    with pytest.raises(ExpressionError):
        check(bad)
