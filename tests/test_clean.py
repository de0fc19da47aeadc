import re

import pytest

from corpus.clean import (
    DAMAGED_MARK,
    clean_text,
    is_pinyin_syllable,
    match_form,
    normalise_width,
    remove_pinyin,
    repair_mojibake,
    script_of,
    to_simplified,
)
from tests.conftest import SEED_FILE

SEED = SEED_FILE.read_text(encoding="utf-8")


def test_seed_pinyin_annotations_are_all_removed():
    cleaned = clean_text(SEED)
    assert cleaned.pinyin_removed == 327
    assert not re.search(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]+\)", cleaned.text)
    assert "落實好習近平" in cleaned.text and "應勇強調" in cleaned.text


def test_real_parentheses_are_kept():
    text = "会议由张三(Zhang San)主持，预算(2020)年度，使用了GPU(graphics)与A(a)方案，咖啡(café)。"
    out, n = remove_pinyin(text)
    assert n == 0 and out == text
    assert remove_pinyin("實(shí)現(xiàn)")[0] == "實現"


def test_pinyin_syllable_check():
    assert is_pinyin_syllable("qiáng") and is_pinyin_syllable("lǜ") and is_pinyin_syllable("zhuǎn")
    assert not is_pinyin_syllable("qiang")  # no tone mark: not an annotation
    assert not is_pinyin_syllable("café") and not is_pinyin_syllable("résumé")


def test_seed_mojibake_spans_are_marked_not_shown():
    cleaned = clean_text(SEED)
    assert cleaned.mojibake_marked == 3
    for garbage in ("鶎", "訌", "薄⒓", "?", "/p>", "qiáng)"):
        assert garbage not in cleaned.text
    assert "治理能力現代化的根基" + DAMAGED_MARK + "則全局強" in cleaned.text
    assert "黨群關系" + DAMAGED_MARK in cleaned.text
    assert "四點半學" + DAMAGED_MARK + "色物業服務中心" in cleaned.text


def test_mojibake_with_surviving_bytes_is_repaired():
    original = "东湖新城社区调研基层社会治理"
    garbled = original.encode("utf-8").decode("gbk")
    text, repaired, marked = repair_mojibake("标题\n" + garbled)
    assert text == "标题\n" + original and repaired == 1 and marked == 0


def test_ordinary_question_marks_and_english_are_not_damage():
    for text in ["真的吗?是的。", "What? Really! Yes;", "共3个(a)方案"]:
        assert DAMAGED_MARK not in repair_mojibake(text)[0]


def test_width_and_punctuation_normalised():
    assert normalise_width("ＡＢＣ１２３　测试") == "ABC123 测试"
    assert normalise_width("部署,8月31日,省委") == "部署，8月31日，省委"
    assert normalise_width("Hello, world") == "Hello, world"


def test_match_form_is_simplified_and_compact():
    assert match_form("應勇強調  ＡＢ") == "应勇强调 ab"
    assert DAMAGED_MARK not in match_form("根基" + DAMAGED_MARK + "則")
    assert to_simplified("東湖新城社區") == "东湖新城社区"


def test_script_detection():
    assert script_of("應勇強調了什麼？") == "zh-Hant"
    assert script_of("应勇强调了什么？") == "zh-Hans"
    assert script_of("Who attended?") == "en"


def test_ordinary_text_with_latin_letters_and_ascii_marks_is_not_damage():
    for text in ("买入A股和B股。", "使用U盘和X光检查。", "真的吗?是的?", "太好了!真好!", "👍👍很好"):
        cleaned = clean_text(text)
        assert cleaned.mojibake_marked == 0 and DAMAGED_MARK not in cleaned.text, text


@pytest.mark.parametrize("text", ["波斯黇鹿较黇鹿大，鹿角呈掌状", "天华邨、天瑞邨（一邨）、天华", "新西兰鸲鹟像鸲鹟般",
                                  "高畑勲・宫崎骏的作品", "『ゴジラ电撃大作戦』", "一套历法──太阳历──互相搭配",
                                  "在150 °C真空干燥"])
def test_rare_but_real_characters_are_not_marked_as_damage(text):
    # real Wikipedia text (CMRC 2018): rarity alone is no evidence of mojibake
    cleaned = clean_text(text)
    assert cleaned.mojibake_marked == 0 and DAMAGED_MARK not in cleaned.text
