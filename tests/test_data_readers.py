"""Data readers: TSV / CSV, the livedoor corpus, CoNLL / BIO / CoNLL-U and JSON lines give the
examples users expect, and every bad input names the file and line in a `DataError`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jbert_tf2.data import (
    TaggedSentence,
    TextExample,
    collect_labels,
    join_words,
    read_conll,
    read_jsonl,
    read_jsonl_tagged,
    read_livedoor,
    read_table,
    split_examples,
)
from jbert_tf2.data.conll import MAX_SENTENCE_TOKENS
from jbert_tf2.errors import DataError, JbertError


def write(path, text: str, encoding: str = "utf-8"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def error_of(call, file, line: int | None, *parts: str) -> str:
    """The DataError message of ``call()``, checked to name the file, the line and ``parts``."""
    with pytest.raises(DataError) as info:
        call()
    message = str(info.value)
    assert str(file) in message
    if line is not None:
        assert f"line {line}:" in message or f"line {line} " in message
    for part in parts:
        assert part in message
    return message


def check_spans(sentence: TaggedSentence) -> None:
    assert len(sentence.spans) == len(sentence.words)
    for word, (start, end) in zip(sentence.words, sentence.spans, strict=True):
        assert sentence.text[start:end] == word


# TSV / CSV


def test_tsv_with_header_and_a_quoted_tab(tmp_path):
    file = write(
        tmp_path / "train.tsv",
        "text\tlabel\n"
        "今日の試合は延長戦の末に勝利した。\tsports-watch\n"
        '"新型スマホの\t発表会が開かれた。"\tit-life-hack\n'
        "\n",
    )
    examples = read_table(file)
    assert examples == [
        TextExample("今日の試合は延長戦の末に勝利した。", None, "sports-watch", f"{file}:2"),
        TextExample("新型スマホの\t発表会が開かれた。", None, "it-life-hack", f"{file}:3"),
    ]


def test_tsv_text_b_is_found_by_name_and_a_test_file_has_no_labels(tmp_path):
    train = write(
        tmp_path / "pairs.tsv", "text\ttext_b\tlabel\n東京は晴れ。\t東京は雨。\tcontradiction\n"
    )
    assert read_table(train)[0] == TextExample(
        "東京は晴れ。", "東京は雨。", "contradiction", f"{train}:2"
    )
    test = write(tmp_path / "test.tsv", "text\ttext_b\n東京は晴れ。\t大阪も晴れ。\n")
    assert read_table(test)[0].label is None
    assert read_table(train, label_column=None)[0].label is None


def test_csv_with_quotes_multi_label_bom_and_crlf(tmp_path):
    file = write(
        tmp_path / "reviews.csv",
        "\ufefftext,label\r\n"
        '"安くて、速い。","価格, 速度"\r\n'
        '"説明書が分かりにくい。",操作性\r\n'
        '"特になし。",""\r\n',
    )
    examples = read_table(file, multi_label=True)
    assert [e.label for e in examples] == [("価格", "速度"), ("操作性",), ()]
    assert examples[0].text == "安くて、速い。"
    assert examples[1].source == f"{file}:3"
    assert collect_labels(examples) == ["価格", "操作性", "速度"]


def test_columns_by_index_without_header(tmp_path):
    file = write(
        tmp_path / "in_domain_train.tsv",
        "gj04\t1\t\t彼は本を読んだ。\ngj04\t0\t*\t彼は本を読んだをした。\n",
    )
    examples = read_table(file, text_column=-1, label_column=1, header=False)
    assert [(e.text, e.label) for e in examples] == [
        ("彼は本を読んだ。", "1"),
        ("彼は本を読んだをした。", "0"),
    ]
    error_of(lambda: read_table(file, header=False), file, None, "header=False", "text_column=0")


def test_quotechar_none_reads_quotes_as_text(tmp_path):
    file = write(tmp_path / "quotes.tsv", 'text\tlabel\n"引用"で始まる文\tpeachy\n')
    assert read_table(file, quotechar=None)[0].text == '"引用"で始まる文'


def test_table_errors_name_file_and_line(tmp_path):
    missing = tmp_path / "missing.tsv"
    error_of(lambda: read_table(missing), missing, None, "no such file")
    empty = write(tmp_path / "empty.tsv", "\n\n")
    error_of(lambda: read_table(empty), empty, None, "empty file")
    header_only = write(tmp_path / "header.tsv", "text\tlabel\n")
    error_of(lambda: read_table(header_only), header_only, None, "only a header")

    three = write(
        tmp_path / "train.tsv",
        "text\ttext_b\tlabel\n文A\t文B\tentailment\n文C\t文D\n文E\t\tneutral\n",
    )
    error_of(
        lambda: read_table(three), three, 3, "2 columns", "the header has 3 (text, text_b, label)"
    )
    error_of(lambda: read_table(three, text_column="sentence"), three, 1, "'sentence'", "text_b")

    empty_text = write(tmp_path / "dev.tsv", "text\tlabel\n文A\tsmax\n \tsmax\n")
    error_of(lambda: read_table(empty_text), empty_text, 3, "empty text")
    empty_label = write(tmp_path / "dev2.tsv", "text\tlabel\n文A\t\n")
    error_of(lambda: read_table(empty_label), empty_label, 2, "empty label")

    labelled = write(tmp_path / "labels.tsv", "text\tlabel\n文A\tsmax\n文B\tsmaxx\n")
    error_of(
        lambda: read_table(labelled, labels=["smax", "peachy"]),
        labelled,
        3,
        "'smaxx'",
        "peachy, smax",
    )

    sjis = write(tmp_path / "sjis.tsv", "text\tlabel\n文A\tsmax\nテスト\tsmax\n", "cp932")
    error_of(lambda: read_table(sjis), sjis, 2, "not UTF-8", "iconv")
    stray = write(tmp_path / "stray.tsv", 'text\tlabel\n文A\tsmax\n"文B\tsmax\n' + "あ" * 140_000)
    error_of(lambda: read_table(stray), stray, 3, "a stray double quote", "quotechar=None")
    unknown = write(tmp_path / "data.dat", "text\tlabel\n")
    error_of(lambda: read_table(unknown), unknown, None, "delimiter")


# livedoor news corpus


def write_livedoor(root) -> None:
    text = root / "text"
    write(text / "README.txt", "livedoor ニュースコーパス\n")
    write(text / "CHANGES.txt", "2014-02-09\n")
    articles = {
        "sports-watch": [
            (
                "4597641",
                "本田圭佑、W杯へ意気込み",
                "日本代表の本田圭佑が取材に応じた。\n\n「優勝を目指す」と語った。",
            ),
            ("4597642", "なでしこ、強化合宿を公開", "女子代表が合宿を公開した。"),
            ("4597643", "プロ野球開幕戦の見どころ", "今季の開幕戦を展望する。"),
        ],
        "it-life-hack": [
            ("6292880", "新しいノートPCを試す", "軽量で電池が長持ちする。\n価格は10万円前後。"),
            ("6292881", "無料で使えるクラウド保存", "容量は15GBまで。"),
        ],
    }
    for category, items in articles.items():
        write(text / category / "LICENSE.txt", "クリエイティブ・コモンズ\n")
        for number, title, body in items:
            write(
                text / category / f"{category}-{number}.txt",
                f"http://news.livedoor.com/article/detail/{number}/\n"
                f"2012-05-21T07:00:00+0900\n{title}\n{body}\n",
            )


def test_livedoor_reads_categories_in_order(tmp_path):
    write_livedoor(tmp_path / "ldcc")
    examples = read_livedoor(tmp_path / "ldcc")
    assert examples == read_livedoor(tmp_path / "ldcc" / "text")
    assert [e.label for e in examples] == ["it-life-hack"] * 2 + ["sports-watch"] * 3
    first = examples[0]
    assert first.text == "新しいノートPCを試す\n軽量で電池が長持ちする。\n価格は10万円前後。"
    assert first.source.endswith("it-life-hack-6292880.txt:3")
    sports = read_livedoor(tmp_path / "ldcc", categories=["sports-watch"], text="body")
    assert sports[0].text == "日本代表の本田圭佑が取材に応じた。\n「優勝を目指す」と語った。"
    titles = read_livedoor(tmp_path / "ldcc", text="title")
    assert titles[-1].text == "プロ野球開幕戦の見どころ"
    assert collect_labels(examples) == ["it-life-hack", "sports-watch"]


def test_livedoor_errors(tmp_path):
    error_of(lambda: read_livedoor(tmp_path / "nowhere"), tmp_path / "nowhere", None, "no such")
    (tmp_path / "empty" / "text").mkdir(parents=True)
    error_of(lambda: read_livedoor(tmp_path / "empty"), tmp_path / "empty", None, "no category")
    write_livedoor(tmp_path / "ldcc")
    error_of(
        lambda: read_livedoor(tmp_path / "ldcc", categories=["smax"]),
        tmp_path / "ldcc",
        None,
        "no category smax",
        "it-life-hack, sports-watch",
    )
    short = write(tmp_path / "ldcc/text/smax/smax-1.txt", "http://news.livedoor.com/\n2012\n")
    error_of(lambda: read_livedoor(tmp_path / "ldcc"), short, None, "2 lines", "at least 3")
    bad = write(tmp_path / "ldcc/text/smax/smax-1.txt", "http://x/\n2012\n新機種\n", "cp932")
    error_of(lambda: read_livedoor(tmp_path / "ldcc"), bad, 3, "not UTF-8")


def test_split_examples_is_deterministic_stratified_and_complete():
    examples = [TextExample(f"記事{i}", label=f"cat{i % 3}") for i in range(30)]
    examples += [TextExample(f"記事x{i}", label="rare") for i in range(10)]
    train, dev, test = split_examples(examples, seed=1)
    assert (len(train), len(dev), len(test)) == (32, 4, 4)
    assert (train, dev, test) == split_examples(examples, seed=1)
    assert split_examples(examples, seed=2) != (train, dev, test)
    assert Counter(e.text for e in train + dev + test) == Counter(e.text for e in examples)
    assert Counter(e.label for e in train) == {"cat0": 8, "cat1": 8, "cat2": 8, "rare": 8}
    with pytest.raises(DataError, match="sum to 1"):
        split_examples(examples, fractions=(0.5, 0.1))


# CoNLL / BIO / CoNLL-U


BIO = """\
-DOCSTART-\tO

# sent_id = train-s1
# text = 三代目 J SOUL BROTHERSが東京ドームで公演した。
三代目\tB-ORG
J\tI-ORG
SOUL\tI-ORG
BROTHERS\tI-ORG
が\tO
東京\tB-FAC
ドーム\tI-FAC
で\tO
公演\tO
し\tO
た\tO
。\tO

鈴木\tB-PERSON
さん\tO
は\tO
iPhone\tB-PRODUCT
15\tI-PRODUCT
を\tO
買っ\tO
た\tO
"""


def test_bio_with_text_comment_keeps_spaces_and_rebuilds_japanese(tmp_path):
    file = write(tmp_path / "train.bio", BIO)
    first, second = read_conll(file)
    assert first.text == "三代目 J SOUL BROTHERSが東京ドームで公演した。"
    assert first.words[:4] == ["三代目", "J", "SOUL", "BROTHERS"]
    assert first.spans[:4] == [(0, 3), (4, 5), (6, 10), (11, 19)]
    assert first.tags[:5] == ["B-ORG", "I-ORG", "I-ORG", "I-ORG", "O"]
    assert first.source == f"{file}:5"
    assert second.text == "鈴木さんはiPhone 15を買った"
    assert second.source == f"{file}:18"
    for sentence in (first, second):
        check_spans(sentence)
    assert "B-PERSON" in collect_labels([first, second])


def test_conll2003_whitespace_columns_and_bilou_tags(tmp_path):
    file = write(
        tmp_path / "eng.train",
        "-DOCSTART- -X- -X- O\n\nEU NNP B-NP U-ORG\nrejects VBZ B-VP O\n"
        "German JJ B-NP B-MISC\ncall NN I-NP L-MISC\n",
    )
    (sentence,) = read_conll(file)
    assert sentence.text == "EU rejects German call"
    assert sentence.tags == ["U-ORG", "O", "B-MISC", "L-MISC"]
    check_spans(sentence)


def test_bilou_file_gives_the_entities_of_the_same_file_in_bio(tmp_path):
    """What read_conll reads, tagging reads too: BILOU tags (L = last, U = unit) are entities
    equal to those of the BIO file that marks the same words."""
    from jbert_tf2.tasks import tagging

    words = ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."]
    bilou = ["U-ORG", "O", "U-MISC", "O", "O", "O", "B-MISC", "L-MISC", "O"]
    bio = ["B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "I-MISC", "O"]
    files = {}
    for name, tags in (("bilou", bilou), ("bio", bio)):
        lines = "".join(f"{w} NNP B-NP {t}\n" for w, t in zip(words, tags, strict=True))
        (files[name],) = read_conll(write(tmp_path / f"{name}.txt", lines))
    read_bilou, read_bio = files["bilou"], files["bio"]
    assert read_bilou.tags == bilou and read_bio.tags == bio
    assert tagging.detect_scheme(read_bilou.tags) == "BILOU"
    assert tagging.spans(read_bilou.tags) == tagging.spans(read_bio.tags)
    assert tagging.spans(read_bilou.tags, "BILOU", strict=True) == [
        ("ORG", 0, 1),
        ("MISC", 2, 3),
        ("MISC", 6, 8),
    ]
    found = tagging.entities_in_text(read_bilou.text, read_bilou.spans, read_bilou.tags, "BILOU")
    assert found == tagging.entities_in_text(read_bio.text, read_bio.spans, bio, "BIO")
    assert [e["text"] for e in found] == ["EU", "German", "British lamb"]
    assert tagging.convert_tags(read_bilou.tags, "BIO") == bio
    assert tagging.labels_for(tagging.entity_types(read_bilou.tags), "BILOU")[1:5] == [
        "B-MISC",
        "I-MISC",
        "L-MISC",
        "U-MISC",
    ]


def test_join_words_refuses_what_is_no_list_of_words():
    """A str would be joined as its characters, a dict as its keys."""
    assert join_words(["東京", "へ"]) == ("東京へ", [(0, 2), (2, 3)])
    for words, message in (
        ("東京", "words is a str, not a list of words"),
        ({"東京": 1}, "words is a dict"),
        (["東京", ""], r"words\[1\] is ''"),
        (["東京", 3], r"words\[1\] is 3"),
    ):
        with pytest.raises(JbertError, match=message):
            join_words(words)
    with pytest.raises(JbertError, match=r"spaces_after is \[True\]; pass one bool per word \(2\)"):
        join_words(["a", "b"], [True])


@pytest.mark.parametrize("path", [["a.jsonl", "b.jsonl"], None, 3, {"path": "a"}])
def test_readers_refuse_what_is_no_path_naming_it(path):
    for reader in (read_conll, read_jsonl, read_jsonl_tagged, read_table, read_livedoor):
        with pytest.raises(
            DataError, match=rf"path=.*expected the path of one file .*got {type(path).__name__}"
        ):
            reader(path)


def test_hash_token_line_is_a_token_not_a_comment(tmp_path):
    file = write(tmp_path / "tweets.bio", "# newdoc\n#\tO\n拡散\tO\n希望\tO\n")
    (sentence,) = read_conll(file)
    assert sentence.words == ["#", "拡散", "希望"]


CONLLU = """\
# sent_id = test-s1
# text = 東京 タワーに行った。
1\t東京\t東京\tPROPN\t名詞-固有名詞-地名-一般\t_\t2\tcompound\t_\tNE=B-FAC
2\tタワー\tタワー\tNOUN\t名詞-普通名詞-一般\t_\t4\tobl\t_\tSpaceAfter=No|NE=I-FAC
3\tに\tに\tADP\t助詞-格助詞\t_\t2\tcase\t_\tSpaceAfter=No
4\t行っ\t行く\tVERB\t動詞-非自立可能\t_\t0\troot\t_\tSpaceAfter=No
5\tた\tた\tAUX\t助動詞\t_\t4\taux\t_\tSpaceAfter=No
6\t。\t。\tPUNCT\t補助記号-句点\t_\t4\tpunct\t_\tSpaceAfter=No

# sent_id = test-s2
1-2\tNew York\t_\t_\t_\t_\t_\t_\t_\t_
1\tNew\tnew\tPROPN\t_\t_\t2\tcompound\t_\tNE=B-GPE
2\tYork\tYork\tPROPN\t_\t_\t0\troot\t_\tSpaceAfter=No|NE=I-GPE
2.1\t_\t_\t_\t_\t_\t_\t_\t_\t_
3\tへ\tへ\tADP\t_\t_\t2\tcase\t_\tSpaceAfter=No
"""


def test_conllu_ne_tags_and_space_after(tmp_path):
    file = write(tmp_path / "ja_gsd-ud-test.ne.conllu", CONLLU)
    first, second = read_conll(file)
    assert first.words == ["東京", "タワー", "に", "行っ", "た", "。"]
    assert first.tags == ["B-FAC", "I-FAC", "O", "O", "O", "O"]
    assert first.text == "東京 タワーに行った。"
    assert second.words == ["New", "York", "へ"]
    assert second.text == "New Yorkへ"
    assert second.tags == ["B-GPE", "I-GPE", "O"]
    for sentence in (first, second):
        check_spans(sentence)


def test_conll_errors_name_file_and_line(tmp_path):
    empty = write(tmp_path / "empty.bio", "# only a comment\n\n")
    error_of(lambda: read_conll(empty), empty, None, "no sentences")
    one_column = write(tmp_path / "one.bio", "東京\tB-LOC\n都\n")
    error_of(lambda: read_conll(one_column), one_column, 2, "one column", "'都'")
    bad_tag = write(tmp_path / "bad.bio", "東京\tB-LOC\n都\tX-LOC\n")
    error_of(lambda: read_conll(bad_tag), bad_tag, 2, "'X-LOC'", "B-PERSON")
    bare = write(tmp_path / "bare.bio", "東京\tB\n")
    error_of(lambda: read_conll(bare), bare, 1, "'B'", "followed by a type")
    pos = write(tmp_path / "pos.tsv", "東京\t名詞\nへ\t助詞\n")
    error_of(lambda: read_conll(pos), pos, 1, "'名詞'", "NER file", "tag_column")
    sjis = write(tmp_path / "sjis.bio", "東京\tB-LOC\n\n大阪\tB-LOC\n", "cp932")
    error_of(lambda: read_conll(sjis), sjis, 1, "not UTF-8")

    missing = write(tmp_path / "missing.bio", "# text = 東京へ行く\n東京\tB-LOC\n大阪\tO\n")
    error_of(lambda: read_conll(missing), missing, 3, "'大阪'", "line 1")
    extra = write(tmp_path / "extra.bio", "# text = 東京へ行く\n東京\tB-LOC\nへ\tO\n")
    error_of(lambda: read_conll(extra), extra, 1, "after the last token", "'行く'")

    long = write(tmp_path / "long.bio", "# header\n" + "あ\tO\n" * (MAX_SENTENCE_TOKENS + 1))
    error_of(lambda: read_conll(long), long, 2, "more than", "blank lines")

    conllu = write(tmp_path / "bad.conllu", "1\t東京\t_\t_\t_\t_\t_\t_\t_\tNE=B-GPE\n2\tへ\t_\n")
    error_of(lambda: read_conll(conllu), conllu, 2, "3 columns", "CoNLL-U")


words_strategy = st.lists(
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
        min_size=1,
        max_size=6,
    ).filter(lambda w: not any(c.isspace() for c in w) and not w.startswith(("#", "-DOCSTART-"))),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(sentences=st.lists(words_strategy, min_size=1, max_size=3))
def test_spans_point_at_words_for_any_words(tmp_path_factory, sentences):
    file = tmp_path_factory.mktemp("conll") / "random.bio"
    write(file, "\n\n".join("\n".join(f"{w}\tO" for w in words) for words in sentences) + "\n")
    read = read_conll(file)
    assert [s.words for s in read] == sentences
    for sentence in read:
        check_spans(sentence)


# JSON lines


def test_jsonl_classification(tmp_path):
    rows = [
        {"text": "新作映画が公開された。", "label": "movie-enter"},
        {"text": "料金が高い", "text_b": "値段が高い", "label": 1},
        {"text": "画面が綺麗で軽い。", "label": ["画質", "重さ"]},
        {"text": "明日は雨らしい。"},
    ]
    file = write(
        tmp_path / "train.jsonl",
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n",
    )
    examples = read_jsonl(file)
    assert [e.label for e in examples] == ["movie-enter", "1", ("画質", "重さ"), None]
    assert examples[1].text_b == "値段が高い"
    assert examples[3].source == f"{file}:4"


def test_jsonl_label_keys_each_a_binary_label_are_multi_label(tmp_path):
    """label_key=[...]: one key per label holding true/false or 1/0 (one column per label, as
    in many multi-label sets) gives the labels that a key holding the list of labels gives."""
    keys = ["画質", "重さ", "値段"]
    binary = [
        {"text": "画面が綺麗で軽い。", "画質": True, "重さ": 1, "値段": False},
        {"text": "高い。", "画質": 0, "重さ": False, "値段": 1},
        {"text": "普通。", "画質": False, "重さ": 0, "値段": 0},
        {"text": "明日は雨らしい。"},
    ]
    as_lists = [
        {"text": "画面が綺麗で軽い。", "label": ["画質", "重さ"]},
        {"text": "高い。", "label": ["値段"]},
        {"text": "普通。", "label": []},
        {"text": "明日は雨らしい。"},
    ]
    files = []
    for name, rows in (("binary", binary), ("lists", as_lists)):
        text = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n"
        files.append(write(tmp_path / f"{name}.jsonl", text))
    from_keys = read_jsonl(files[0], label_key=keys)
    from_lists = read_jsonl(files[1])
    assert [e.label for e in from_keys] == [("画質", "重さ"), ("値段",), (), None]
    assert [e.label for e in from_keys] == [e.label for e in from_lists]
    assert collect_labels(from_keys) == sorted(keys)
    reordered = read_jsonl(files[0], label_key=("値段", "重さ", "画質"))
    assert [e.label for e in reordered][:2] == [("重さ", "画質"), ("値段",)]  # in key order


def test_jsonl_bad_key_arguments_name_the_argument_and_the_fix(tmp_path):
    file = write(tmp_path / "a.jsonl", '{"text": "文A", "label": "a", "x": 2}\n')
    for key, message in (
        ({"a": 1}, "label_key={'a': 1} is a dict; pass the key of the label"),
        (3, "label_key=3 is a int"),
        ("", "label_key='' is an empty key"),
        ([], "label_key=[]: a list of label keys is empty"),
        (["a", "a"], "must hold distinct non-empty strings"),
    ):
        with pytest.raises(JbertError, match=re.escape(message)):
            read_jsonl(file, label_key=key)
    with pytest.raises(JbertError, match=re.escape("text_key=['text']: expected the name of")):
        read_jsonl(file, text_key=["text"])
    with pytest.raises(JbertError, match=re.escape("text_b_key=5: expected the name")):
        read_jsonl(file, text_b_key=5)
    assert read_jsonl(file, text_b_key=None, label_key=None)[0].label is None
    error_of(lambda: read_jsonl(file, label_key=["label"]), file, 1, "'label' is \"a\"", "1 / 0")
    error_of(lambda: read_jsonl(file, label_key=["x", "y"]), file, 1, "'x' is 2", "true / false")
    partial = write(tmp_path / "partial.jsonl", '{"text": "文A", "x": 1}\n')
    error_of(lambda: read_jsonl(partial, label_key=["x", "y"]), partial, 1, "'y' is absent")


def test_jsonl_tagged_both_forms(tmp_path):
    text = "昨日三代目 J SOUL BROTHERSの公演を見た"
    start = text.index("三代目")
    rows = [
        {"tokens": ["鈴木", "さん", "が", "来た"], "tags": ["B-PERSON", "O", "O", "O"]},
        {"text": text, "entities": [{"start": start, "end": start + 19, "label": "ORG"}]},
        {"tokens": ["東京", "タワー"], "text": "東京 タワー"},
    ]
    file = write(tmp_path / "ner.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    tokens, entities, untagged = read_jsonl_tagged(file)
    assert tokens.text == "鈴木さんが来た"
    # UD-style short units (MeCab + unidic-lite), cut at the entity's edges.
    assert entities.words == [
        "昨日",
        "三",
        "代",
        "目",
        "J",
        "SOUL",
        "BROTHERS",
        "の",
        "公演",
        "を",
        "見",
        "た",
    ]
    assert entities.tags == ["O", "B-ORG"] + ["I-ORG"] * 5 + ["O"] * 5
    assert untagged.tags is None and untagged.spans == [(0, 2), (3, 6)]
    assert entities.source == f"{file}:2"
    for sentence in (tokens, entities, untagged):
        check_spans(sentence)


def test_jsonl_errors_name_file_and_line(tmp_path):
    broken = write(tmp_path / "broken.jsonl", '{"text": "文A", "label": "a"}\n{"text": "文B",\n')
    error_of(lambda: read_jsonl(broken), broken, 2, "invalid JSON", "column")
    no_text = write(tmp_path / "no_text.jsonl", '{"sentence": "文A", "label": "a"}\n')
    error_of(lambda: read_jsonl(no_text), no_text, 1, "'text'", "keys: sentence, label")
    array = write(tmp_path / "array.jsonl", '[{"text": "文A"}]\n')
    error_of(lambda: read_jsonl(array), array, 1, "a JSON list", "one object per line")
    bad_label = write(tmp_path / "label.jsonl", '{"text": "文A", "label": {"x": 1}}\n')
    error_of(lambda: read_jsonl(bad_label), bad_label, 1, "'label'", "list of strings")

    overlap = write(
        tmp_path / "overlap.jsonl",
        '{"text": "東京タワー", "entities": []}\n'
        '{"text": "東京タワー", "entities": [{"start": 0, "end": 2, "label": "GPE"},'
        ' {"start": 1, "end": 5, "label": "FAC"}]}\n',
    )
    error_of(lambda: read_jsonl_tagged(overlap), overlap, 2, "overlap", "GPE [0, 2)")
    outside = write(
        tmp_path / "outside.jsonl",
        '{"text": "東京", "entities": [{"start": 0, "end": 3, "label": "GPE"}]}\n',
    )
    error_of(lambda: read_jsonl_tagged(outside), outside, 1, "outside the text of 2 characters")
    lengths = write(tmp_path / "lengths.jsonl", '{"tokens": ["東京", "へ"], "tags": ["B-GPE"]}\n')
    error_of(lambda: read_jsonl_tagged(lengths), lengths, 1, "2 tokens", "has 1")
    apart = write(tmp_path / "apart.jsonl", '{"tokens": ["東京", "駅"], "text": "東京の駅"}\n')
    error_of(lambda: read_jsonl_tagged(apart), apart, 1, "'駅' is not next in 'text'")
    neither = write(tmp_path / "neither.jsonl", '{"text": "東京"}\n')
    error_of(lambda: read_jsonl_tagged(neither), neither, 1, "keys: text", '"entities": []')


def test_readers_do_not_import_tensorflow():
    code = "import sys, jbert_tf2.data; assert 'tensorflow' not in sys.modules, 'tensorflow'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_conll_without_tags_for_prediction(tmp_path):
    file = write(tmp_path / "test.txt", "# text = 東京 タワー\n東京\nタワー\n\n鈴木\nさん\n")
    first, second = read_conll(file, tag_column=None)
    assert first.tags is None and first.text == "東京 タワー" and first.spans == [(0, 2), (3, 6)]
    assert second.words == ["鈴木", "さん"] and second.text == "鈴木さん"
