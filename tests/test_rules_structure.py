"""The rules engine's promises about itself: one standing per call, no state between calls."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import knowledge.rules as rules
from knowledge.profile import parse_profile
from knowledge.rules import Params, evaluate, result_to_dict

PACKAGE = Path(rules.__file__).resolve().parent
MODULES = sorted(PACKAGE.glob("*.py"))


def test_evaluate_computes_the_standing_once_and_hands_it_to_every_rule(monkeypatch):
    import knowledge.rules.engine as engine

    calls = []
    real = engine.standing_of

    def counting(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(engine, "standing_of", counting)
    today = date(2026, 5, 20)
    profile = parse_profile({"district": "海淀区", "titles": [{"tier": "specialized", "since": "2024-06-01"}],
                             "plans": ["little_giant", "innovative"]}, today)
    evaluate(profile, today, Params())
    assert len(calls) == 1


def test_no_rules_module_keeps_state_between_calls():
    for path in MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        globals_ = [n for n in ast.walk(tree) if isinstance(n, (ast.Global, ast.Nonlocal))]
        assert not globals_, f"{path.name} rebinds a module-level name"


def test_two_profiles_evaluated_in_turn_do_not_see_each_other():
    today = date(2026, 6, 1)
    cancelled = parse_profile({"district": "海淀区", "titles": [{"tier": "specialized", "since": "2024-06-01"}]},
                              today)
    fine = parse_profile({"district": "海淀区", "titles": [{"tier": "specialized", "since": "2024-06-01"}],
                          "updates": [2025, 2026]}, today)
    first = result_to_dict(evaluate(fine, today))
    evaluate(cancelled, today)
    assert result_to_dict(evaluate(fine, today)) == first
    assert first["status"] == "valid" and evaluate(cancelled, today).status == "cancelled"
