"""The learned signal: the shipped model is current, a stale one is not used, calibration replays
the matcher's own decision."""

from __future__ import annotations

import dataclasses

import pytest

from bench.calibrate import grid
from bench.learn import current
from knowledge.learned import LinearModel
from knowledge.loader import default_kb
from knowledge.search import LEARNED_MODEL, Matcher


@pytest.fixture(scope="module")
def matcher():
    return Matcher(default_kb(), 0, 0)


def test_the_shipped_model_is_trained_on_the_current_examples_and_labelled_questions(matcher):
    shipped = LinearModel.load(LEARNED_MODEL)
    _, trained_on = current(matcher)
    assert shipped.meta["trained_on"] == trained_on, "retrain: python -m bench.learn"
    assert shipped.meta["examples"] == matcher.examples_digest()
    assert shipped.meta["entries"] == ",".join(e.id for e in matcher.entries)


def test_the_matcher_uses_the_shipped_model_with_its_outside_class(matcher):
    assert matcher.model.meta.get("examples") == matcher.examples_digest()
    assert matcher.model.classes == len(matcher.entries) + 1
    inside, outside = matcher.learned(matcher.normalize("年报什么时候截止？"))
    assert sum(inside) == pytest.approx(1.0) and outside < 0.2
    assert matcher.entries[max(range(len(inside)), key=inside.__getitem__)].ref == "3"
    covered = matcher.analyse("年度信息更新什么时候截止？").oos
    uncovered = matcher.analyse("复核材料具体要准备哪些？").oos  # no topic names it
    assert covered < 0.2 < 0.8 < uncovered


def test_a_model_trained_for_other_example_questions_is_replaced_by_one_trained_at_start_up(caplog):
    kb = default_kb()
    first = kb.entries[0]
    edited = dataclasses.replace(first, questions=(*first.questions, "这是新加的一个例句吗？"))
    other = dataclasses.replace(kb, entries=(edited, *kb.entries[1:]))
    m = Matcher(other, 0, 0)
    assert m.model.meta == {} and m.model.classes == len(m.entries) and "bench.learn" in caplog.text
    assert m.analyse("年度信息更新什么时候截止？").oos == 0.0  # no outside class: no learned gate
    assert m.match("年报什么时候截止？").entry.ref == "3"


@pytest.mark.parametrize("question", [
    "年报什么时候截止？",
    "我们是顺义一家做精密轴承的企业，120来号人。去年的信息更新没做，漏了一次会怎样？",
    "小巨人申报条件有哪些？",                    # an uncovered topic: nothing to score
    "专精特新中小企业申报资料清单模板在哪？",    # a tier the best clause is not about
    "Our company changed its name last month. What must we file on the platform, and by when?",
    "复核",
])
def test_calibration_scores_every_tuning_as_the_matcher_itself_does(matcher, question):
    analysis = matcher.analyse(question)
    tunings = grid()[::37]
    best, top, ok = matcher.candidates(analysis, tunings)
    for t, b, s, o in zip(tunings, best, top, ok):
        ref, score, allowed = matcher.candidate(analysis, t)
        assert (matcher.entries[b].ref if b >= 0 else None, bool(o)) == (ref, allowed)
        assert s == pytest.approx(score)
