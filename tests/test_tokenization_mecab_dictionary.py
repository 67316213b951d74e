"""MeCab's compiled dictionaries read with numpy, checked against MeCab itself (fugashi).

Every word MeCab finds in the corpus must be in our reading of sys.dic with the same part-of-
speech id and feature string, and every unknown word must have the character category and an
unk.dic feature of our reading of char.bin / unk.dic.
"""

from __future__ import annotations

import shutil
import unicodedata

import numpy as np
import pytest
from tokenizer_fixtures import corpus

from jbert_tf2.errors import JbertError
from jbert_tf2.tokenization.mecab import mecab_tagger
from jbert_tf2.tokenization.mecab_dictionary import (
    char_index,
    read_char_categories,
    read_dictionary_directory,
    read_matrix,
    read_mecab_dictionary,
    read_token_table,
)

DICTIONARIES = ["ipadic", "unidic_lite"]


def _tokens(table, index: int) -> list[tuple[int, str]]:
    """(posid, feature) of every token of surface ``index`` in our reading."""
    start, count = int(table.token_starts[index]), int(table.token_counts[index])
    return [(int(table.posids[t]), table.feature(t)) for t in range(start, start + count)]


@pytest.mark.parametrize("name", DICTIONARIES)
def test_mecab_words_and_unknown_words_are_in_our_reading(name):
    dictionary = read_mecab_dictionary(name)
    tagger = mecab_tagger(name)
    surfaces = {s: i for i, s in enumerate(dictionary.system.surfaces)}
    known = unknown = 0
    for text in corpus():
        for node in tagger(unicodedata.normalize("NFKC", text)):
            if node.is_unk:
                category = int(dictionary.chars.default_types[char_index(ord(node.surface[0]))])
                assert node.char_type == category, node.surface
                start = int(dictionary.unknown_token_starts[category])
                features = {
                    dictionary.unknown.feature(t)
                    for t in range(start, start + int(dictionary.unknown_token_counts[category]))
                }
                assert node.feature_raw in features, node.surface
                unknown += 1
            else:
                assert node.surface in surfaces, node.surface
                tokens = _tokens(dictionary.system, surfaces[node.surface])
                assert (node.posid, node.feature_raw) in tokens
                known += 1
    assert known > 3000 and unknown > 10


@pytest.mark.parametrize("name", DICTIONARIES)
def test_sizes_and_categories_agree_with_the_dictionary_sources(name):
    dictionary = read_mecab_dictionary(name)
    assert dictionary.matrix.shape == (dictionary.lsize * dictionary.rsize,)
    assert len(dictionary.system.surfaces) == len(set(dictionary.system.surfaces))
    chars = dictionary.chars
    names = chars.names
    # char.def of both dictionaries (IPADIC's, which UniDic copies).
    assert names[:2] == ["DEFAULT", "SPACE"] and "KANJI" in names and "KATAKANA" in names
    for code, category in [
        (0x20, "SPACE"),
        (0x09, "SPACE"),
        (0x41, "ALPHA"),
        (0x30, "NUMERIC"),
        (0x3042, "HIRAGANA"),
        (0x30A2, "KATAKANA"),
        (0x6F22, "KANJI"),
    ]:
        assert names[chars.default_types[code]] == category, hex(code)
    assert chars.invokes[0x41] and not chars.invokes[0x3042]  # ALPHA 1 1 0, HIRAGANA 0 1 2
    assert chars.groups[0x41] and chars.lengths[0x3042] == 2
    assert dictionary.space == 1 << names.index("SPACE")
    assert list(char_index(np.array([0x41, 0xFFFF, 0x1F600]))) == [0x41, 0xFFFF, 0]
    assert dictionary.max_grouping_size == 24  # neither dicrc sets it: MeCab's default


def test_broken_files_are_refused_with_the_file_named(tmp_path):
    source = read_mecab_dictionary("ipadic").directory
    for file, reader in [
        ("unk.dic", read_token_table),
        ("char.bin", read_char_categories),
        ("matrix.bin", read_matrix),
    ]:
        path = tmp_path / file
        shutil.copyfile(f"{source}/{file}", path)
        with open(path, "r+b") as handle:
            handle.truncate(path.stat().st_size - 8)
        with pytest.raises(JbertError, match=f"{file}.*reinstall"):
            reader(str(path))
    with pytest.raises(JbertError, match="cannot read"):
        read_dictionary_directory(str(tmp_path / "missing"))
    with pytest.raises(JbertError, match="not supported"):
        read_mecab_dictionary("jumandic")
