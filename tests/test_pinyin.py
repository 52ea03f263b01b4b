"""Pinyin typed for Chinese (knowledge/pinyin.py): whole syllables and first letters are read as the
notice's words; English, acronyms and Chinese are left alone."""

from __future__ import annotations

import copy

import pytest

from bot.app import build_matcher
from bot.config import load_config
from knowledge.loader import default_kb


@pytest.fixture(scope="module")
def matcher():
    return build_matcher(default_kb(), load_config())


@pytest.mark.parametrize("typed, chinese", [
    ("zjtx", "专精特新"),
    ("xjr shenbao tiaojian", "小巨人 申报 条件"),
    ("zhuanjingtexin 的 fuhe 什么时候", "专精特新 的 复核 什么时候"),
    ("gongsi gengming le", "公司 更名 了"),
    ("Zjtx fuhe shijian", "专精特新 复核 时间"),   # a capital at the start is still pinyin
    ("ｇｏｎｇｓｉ ｇｅｎｇｍｉｎｇ ｌｅ", "公司 更名 了"),       # full-width letters
])
def test_pinyin_is_read_as_the_notices_words(matcher, typed, chinese):
    assert matcher.pinyin.convert(typed) == chinese


@pytest.mark.parametrize("text", [
    "Can we change our name?",
    "name change",                                   # both are syllables too: na+me, chan+ge
    "What is the deadline for the annual update?",
    "Is there a deadline for 创新型中小企业 this year?",
    "HR需要给董事会写汇报材料，称号到期后怎么处理？",    # an acronym in capitals
    "北京通企服版APP在哪下载？",
    "专精特新复核什么时候开始？",
    "you",
])
def test_english_acronyms_and_chinese_are_left_alone(matcher, text):
    assert matcher.pinyin.convert(text) == text


@pytest.mark.parametrize("typed, ref", [
    ("gongsi gengming le yao zai pt shang biangeng ma", "4.1"),
    ("zjtx fh mingdan gonggao qian chenghao hai youxiao ma", "2.3"),
    ("dianzi zhengshu zai nali lingqu", "5"),
    ("shenbao yao jiaofei ma", "6.1"),
])
def test_a_question_typed_in_pinyin_is_answered_and_shown_as_typed(matcher, typed, ref):
    m = matcher.match(typed)
    assert m.entry is not None and m.entry.ref == ref, (typed, m.decision, [s.entry.ref for s in m.suggestions])
    assert m.question == typed


def test_without_the_pinyin_layer_these_questions_were_not_understood(matcher):
    class AsTyped:
        def convert(self, text: str) -> str:
            return text

    plain = copy.copy(matcher)
    plain.pinyin = AsTyped()
    assert plain.match("gongsi gengming le yao zai pt shang biangeng ma").entry is None
    assert plain.match("dianzi zhengshu zai nali lingqu").entry is None


def test_an_uncovered_topic_typed_in_pinyin_is_still_uncovered(matcher):
    m = matcher.match("zhuanjingtexin you butie ma duoshao qian")
    assert m.entry is None and m.out_of_scope
