"""Preprocessing makes raw citizen text and the publisher's segmented text look alike."""

from __future__ import annotations

import subprocess
import sys

from routing.classifier.preprocess import (
    NUMBER_TOKEN,
    PHONE_TOKEN,
    PLACE_CODE_TOKEN,
    join_segmented,
    tokenize,
)

RAW = "反映A市A3区魏家坡小区脏乱差的问题：尊敬的市政府领导，您们好！小区的垃圾已经3天没人清运了。"
SEGMENTED = "反映 A3 区 魏家坡 小区 脏乱差 问题 尊敬 市政府 领导 您们好 小区 垃圾 已经 天 没人 清运"


def test_raw_and_segmented_forms_share_their_tokens() -> None:
    raw, segmented = set(tokenize(RAW)), set(tokenize(SEGMENTED))
    assert len(raw & segmented) / len(segmented) >= 0.9
    assert {"魏家坡", "小区", "垃圾", "清运"} <= raw & segmented


def test_punctuation_and_stopwords_are_dropped() -> None:
    tokens = tokenize(RAW)
    assert not {"的", "了", "，", "：", "！", "。"} & set(tokens)


def test_numbers_phones_and_place_codes_become_placeholders() -> None:
    tokens = tokenize("A市A1区2019年4月停电，联系电话13812345678")
    assert tokens.count(PLACE_CODE_TOKEN) == 2
    assert tokens.count(NUMBER_TOKEN) == 2
    assert PHONE_TOKEN in tokens
    assert not any(token.isdigit() for token in tokens)


def test_runs_of_letters_and_digits_split_into_their_pieces() -> None:
    tokens = tokenize("2003-2020年GB50180-93标准，电话0731-88888888")
    assert tokens.count(NUMBER_TOKEN) == 5  # 2003, 2020, 93, 0731, 88888888
    assert "gb50180" in tokens
    assert not any("-" in token for token in tokens)


def test_dictionary_words_led_by_a_letter_stay_whole() -> None:
    assert "x光" in tokenize("医院拍X光收费太贵")


def test_full_width_text_equals_half_width_text() -> None:
    full_width = "ＡＰＰ无法登录，请问ＫＴＶ噪音１２３分贝？"
    assert tokenize(full_width) == tokenize("APP无法登录,请问KTV噪音123分贝?")


def test_segmenter_spaces_between_chinese_characters_are_removed() -> None:
    assert join_segmented("垃圾 处理 费 A3 区") == "垃圾处理费 A3 区"


def test_long_messages_are_truncated() -> None:
    assert len(tokenize("停水" * 1000, max_chars=10)) <= 5


def test_first_use_of_the_segmenter_prints_nothing() -> None:
    code = "from routing.classifier.preprocess import tokenize; tokenize('小区停水三天')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == ""
    assert result.stderr == ""
