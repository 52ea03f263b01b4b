"""The rules engine's promises about itself: one standing per call, no state between calls."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import shutil
from datetime import date
from pathlib import Path

import pytest

import knowledge.rules as rules
from knowledge.loader import DATA_DIR, DataError, default_kb, load
from knowledge.profile import parse_profile
from knowledge.rules import Params, evaluate, result_to_dict
from knowledge.rules.dates import SPECS, NoticeDates, notice_dates

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


# --- the notice's dates live in the data, once --------------------------------------------------

# The two values that are the product's own choice, not the notice's (see knowledge/rules/dates.py).
PRODUCT_CHOICES = {"REVIEW_HORIZON", "CERTIFICATE_LISTED_DAYS"}
PERIOD_FUNCTIONS = {"add_months", "add_years", "add_working_days", "valid_until", "replace"}
DATE_WORDS = re.compile(r"\d+\s*[月日]|\d{4}\s*年|\d+\s*(个月|个工作日|季度)|"
                        r"[一二两三四五六七八九十]+(年|个月|个工作日)|第[一二三四]季度")


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _is_int(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def literal_dates(source: str) -> list[str]:
    """Every place in `source` that writes one of the notice's dates or periods as a literal."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    found = []
    allowed = set()
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            if names & PRODUCT_CHOICES:
                allowed.update(id(n) for n in ast.walk(node))
            elif isinstance(node.value, ast.Constant) and type(node.value.value) is int:
                found.append(f"line {node.lineno}: module constant {sorted(names)} = {node.value.value}")
    for node in ast.walk(tree):
        if id(node) in allowed:
            continue
        line = getattr(node, "lineno", "?")
        if _is_int(node) and 1900 <= node.value <= 2100:
            found.append(f"line {line}: the year {node.value}")
        elif isinstance(node, ast.Call) and _name(node.func) == "timedelta":
            if [(k.arg, getattr(k.value, "value", None)) for k in node.keywords] != [("days", 1)] or node.args:
                found.append(f"line {line}: a timedelta other than one day")
        elif isinstance(node, ast.Call) and _name(node.func) == "date" and node.args and \
                all(isinstance(a, ast.Constant) for a in node.args):
            found.append(f"line {line}: a literal date")
        elif isinstance(node, ast.Call) and _name(node.func) in PERIOD_FUNCTIONS:
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                if _is_int(arg) and arg.value > 1:
                    found.append(f"line {line}: {_name(node.func)}(… {arg.value} …)")
        elif isinstance(node, ast.Tuple) and len(node.elts) == 2 and all(_is_int(e) for e in node.elts):
            found.append(f"line {line}: a month-day tuple")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            match = DATE_WORDS.search(node.value)
            if match:
                found.append(f"line {line}: {match.group(0)!r} in the text {node.value[:30]!r}")
    return found


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_no_rules_module_writes_a_date_or_period_of_the_notice(path):
    assert literal_dates(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("source, expected", [
    ("X = date(2026, 2, 28)\n", "the year 2026"),
    ("def f(d):\n    return add_months(d, 3)\n", "add_months(… 3 …)"),
    ("def f(y):\n    return date(y, *(5, 31))\n", "a month-day tuple"),
    ("HORIZON = timedelta(days=30)\n", "a timedelta other than one day"),
    ("DAYS = 10\n", "module constant ['DAYS'] = 10"),
    ("def f(d):\n    return d.replace(day=25)\n", "replace(… 25 …)"),
    ("def f():\n    return '每年5月31日前'\n", "'5月'"),
    ("def f():\n    return '三年内不得再次申报'\n", "'三年'"),
    ("def f():\n    return '原则上每年第二季度开展'\n", "'第二季度'"),
    ("def f(n):\n    return f'{n}称号公告10个工作日后'\n", "'10个工作日'"),
], ids=["a literal date", "a literal period in months", "a month-day tuple", "a literal timedelta",
        "a module-level number", "a literal day of the month", "a date in a text",
        "a period in words in a text", "a quarter in words", "working days in a text"])
def test_the_scan_finds_each_kind_of_literal(source, expected):
    found = literal_dates(source)
    assert any(expected in f for f in found), found


def test_the_scan_leaves_one_day_docstrings_and_product_choices_alone():
    source = ('"""Due by 31 May 2026 (ref 3)."""\nREVIEW_HORIZON = timedelta(days=365)\n'
              'def f(d, p):\n    """Within 3 months."""\n    return d - timedelta(days=1), d.replace(day=1), '
              'add_months(d, p.notice.change_filing_months), f"{d.year}年"\n')
    assert literal_dates(source) == []


def test_every_value_the_rules_read_is_a_spec_of_the_clause_it_cites():
    kb = default_kb()
    for key, (ref, name, attrs) in SPECS.items():
        entry = kb.by_ref[ref]
        (spec,) = [d for d in entry.dates if d.name == name]
        assert all(getattr(spec, a) is not None for a in attrs), (key, ref, name)
    dates = notice_dates(kb)
    assert {key: dates.ref(key) for key in SPECS} == {key: ref for key, (ref, _, _) in SPECS.items()}


def test_the_rules_read_only_declared_values_and_every_declared_value_is_read():
    read = set()
    for path in MODULES:
        if path.name == "dates.py":  # where NoticeDates is built from the knowledge base
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                    and node.value.attr == "notice":
                read.add(node.attr)
            elif isinstance(node, ast.Call) and _name(node.func) == "dated":  # p.dated("key", today)
                read.add(node.args[0].value)
    fields = {f.name for f in dataclasses.fields(NoticeDates)}
    methods = {name for name in vars(NoticeDates) if not name.startswith("_")} - fields
    assert fields - set(SPECS) == {"source", "refs"}
    assert read - methods - {"source"} <= set(SPECS), read - methods - set(SPECS)
    assert set(SPECS) <= read | _read_by_methods(), set(SPECS) - read - _read_by_methods()


def _read_by_methods() -> set[str]:
    """Values the rules reach through a NoticeDates method (quarter → giant_quarter …)."""
    tree = ast.parse(Path(inspect.getsourcefile(NoticeDates)).read_text(encoding="utf-8"))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "NoticeDates"]
    return {n.attr for n in ast.walk(cls) if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name) and n.value.id == "self"}


@pytest.mark.parametrize("old, new, field", [
    ('name = "change_filing_period"', 'name = "change_filing_window"', "dates"),
    ('working_days = 10\n', '', "dates.certificate_available.working_days"),
], ids=["a renamed spec is missed", "a spec without its value is missed"])
def test_a_knowledge_base_without_a_value_the_rules_read_is_refused(tmp_path, old, new, field):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    clauses = data / "clauses.toml"
    text = clauses.read_text(encoding="utf-8")
    assert old in text
    clauses.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(DataError) as info:
        notice_dates(load(data))
    assert info.value.file == "clauses.toml" and info.value.field == field
