"""MeCab's compiled dictionaries read with numpy: what the in-graph MeCab (`lattice.MecabGraph`) needs.

A MeCab dictionary directory (what `unidic-lite` and `ipadic` install) holds four binary files,
written by ``mecab-dict-index``; their layouts come from MeCab's own source
(taku910/mecab ``src/dictionary.cpp``, ``darts.h``, ``char_property.cpp``, ``connector.cpp``):

- ``sys.dic`` and ``unk.dic``: a 40-byte header (magic xor file size, version, type, lexicon
  size, left and right context sizes, then the byte sizes of the double-array trie, the token
  table and the features), a 32-byte charset name, the Darts double-array trie over the UTF-8
  surfaces (8-byte units: int32 base, uint32 check), the tokens (16 bytes: uint16 lcAttr, uint16
  rcAttr, uint16 posid, int16 wcost, uint32 feature offset, uint32 compound) and the
  NUL-terminated feature strings. A trie value is ``(first token << 8) | token count``.
- ``matrix.bin``: uint16 lsize, uint16 rsize, then int16 connection costs; the cost from a word
  with right id ``r`` to a word with left id ``l`` is ``matrix[r + lsize * l]``.
- ``char.bin``: uint32 number of categories, their 32-byte names, then one uint32 ``CharInfo``
  per UCS-2 code point 0..0xFFFE (bit fields from the low bit: 18 bits category mask, 8 bits
  default category, 4 bits length, 1 bit group, 1 bit invoke).

The trie is not walked at run time: each node of a Darts trie has its own base, and a unit's
check is its parent's base, so every surface is recovered by following checks up to the root.
"""

from __future__ import annotations

import dataclasses
import functools
import os

import numpy as np

from jbert_tf2.errors import JbertError
from jbert_tf2.tokenization.mecab import dictionary_directory

_MAGIC = 0xEF718F77
_DIC_VERSION = 102
_HEADER = np.dtype(
    [
        (name, "<u4")
        for name in (
            "magic",
            "version",
            "type",
            "lexsize",
            "lsize",
            "rsize",
            "dsize",
            "tsize",
            "fsize",
            "dummy",
        )
    ]
)
_TOKEN = np.dtype(
    [
        ("lc", "<u2"),
        ("rc", "<u2"),
        ("posid", "<u2"),
        ("wcost", "<i2"),
        ("feature", "<u4"),
        ("compound", "<u4"),
    ]
)
_UNIT = np.dtype([("base", "<i4"), ("check", "<u4")])
_MAX_KEY_BYTES = 4096  # a surface longer than this means a corrupt trie


@dataclasses.dataclass(frozen=True)
class TokenTable:
    """One compiled dictionary file (``sys.dic`` or ``unk.dic``): surfaces and their tokens.

    ``surfaces[i]`` owns the tokens ``token_starts[i]:token_starts[i] + token_counts[i]`` in
    MeCab's order (the order MeCab creates their lattice nodes in).
    """

    surfaces: list[str]
    token_starts: np.ndarray  # int64 [surfaces]
    token_counts: np.ndarray  # int64 [surfaces]
    left_ids: np.ndarray  # int32 [tokens]: lcAttr
    right_ids: np.ndarray  # int32 [tokens]: rcAttr
    costs: np.ndarray  # int32 [tokens]: wcost
    posids: np.ndarray  # int32 [tokens]: part-of-speech id (pos-id.def)
    features: bytes
    feature_offsets: np.ndarray  # int64 [tokens]
    lsize: int
    rsize: int
    charset: str

    def feature(self, token: int) -> str:
        """The feature string (CSV) of one token."""
        start = int(self.feature_offsets[token])
        return self.features[start : self.features.index(b"\0", start)].decode("utf-8")


@dataclasses.dataclass(frozen=True)
class CharCategories:
    """``char.bin``: category names and each UCS-2 code point's ``CharInfo`` fields.

    Index 0xFFFF is MeCab's read past the table's end (zeros); code points above the BMP are
    read as code point 0 by MeCab's UTF-8 decoder (see `char_index`).
    """

    names: list[str]
    types: np.ndarray  # int32 [0x10000]: bit mask of the categories a code point belongs to
    default_types: np.ndarray  # int32 [0x10000]: the category its unknown words take
    lengths: np.ndarray  # int32 [0x10000]: the category's unknown-word lengths 1..length
    groups: np.ndarray  # bool [0x10000]: whether runs of the category are grouped
    invokes: np.ndarray  # bool [0x10000]: whether unknown words are made besides known ones


@dataclasses.dataclass(frozen=True)
class MecabDictionary:
    """Everything MeCab's Viterbi reads from a dictionary directory.

    ``unknown_token_starts[c]`` / ``unknown_token_counts[c]``: the range of ``unknown``'s
    tokens for category ``c`` (``char.bin``'s order), found as MeCab finds it: the unk.dic
    surface named like the category.
    """

    name: str
    directory: str
    system: TokenTable
    unknown: TokenTable
    unknown_token_starts: np.ndarray  # int64 [categories]
    unknown_token_counts: np.ndarray  # int64 [categories]
    matrix: np.ndarray  # int16 [lsize * rsize]: matrix[right_id + lsize * left_id]
    lsize: int
    rsize: int
    chars: CharCategories
    max_grouping_size: int

    @property
    def space(self) -> int:
        """The category mask of U+0020, which MeCab skips before each word (its ``space_``)."""
        return int(self.chars.types[0x20])


def char_index(code_points: np.ndarray) -> np.ndarray:
    """The ``char.bin`` row MeCab reads for each code point: code points above U+FFFF decode
    to 0 in MeCab's UTF-8 reader (``utf8_to_ucs2``)."""
    code_points = np.asarray(code_points)
    return np.where(code_points > 0xFFFF, 0, code_points)


def _broken(path: str, why: str) -> JbertError:
    return JbertError(
        f"{path} is not a MeCab dictionary file MeCab 0.996 can read ({why}); "
        "reinstall the dictionary package (pip install --force-reinstall unidic-lite / ipadic)"
    )


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        raise JbertError(
            f"cannot read the MeCab dictionary file {path} ({exc.strerror}); "
            "reinstall the dictionary package"
        ) from None


def _trie_keys(units: np.ndarray, path: str) -> tuple[list[str], np.ndarray]:
    """Every (key, value) of a Darts double array (UTF-8 keys decoded).

    A node's children sit at ``base + 1 + byte`` with ``check == base``, its end-of-key unit at
    ``base`` itself (``check == base``, value ``-base - 1``); Darts gives every node its own base,
    so a unit's check names its parent node.
    """
    base = units["base"].astype(np.int64)
    check = units["check"].astype(np.int64)
    positions = np.arange(len(units), dtype=np.int64)
    root = base[0]
    used = (check != 0) & (positions > 0)  # Darts never gives a node base 0
    is_end = used & (positions == check) & (base < 0)
    is_child = used & (positions > check) & (positions - check <= 256)
    child_units = positions[is_child]
    size = int(max(base.max(), check.max(), len(units))) + 2
    parent = np.full(size, -1, dtype=np.int64)  # node base -> its parent's base
    label = np.zeros(size, dtype=np.uint8)
    child_bases = base[child_units]
    if (child_bases <= 0).any() or np.bincount(child_bases).max(initial=0) > 1:
        raise _broken(path, "trie nodes share a base")
    parent[child_bases] = check[child_units]
    label[child_bases] = child_units - check[child_units] - 1
    ends = positions[is_end]
    values = -base[ends] - 1
    nodes = check[ends]
    lengths = np.zeros(len(nodes), dtype=np.int64)
    for _, write in _climb(nodes, parent, root, path):
        lengths[write] += 1
    # Keys never hold a NUL byte (Darts' end-of-key code): one NUL-joined buffer, one decode.
    last = np.cumsum(lengths + 1) - 2  # where each key's last byte goes
    joined = np.zeros(int(last[-1]) + 1 if len(last) else 0, dtype=np.uint8)
    for current, write in _climb(nodes, parent, root, path):
        joined[last[write]] = label[current]
        last[write] -= 1
    try:
        return joined.tobytes().decode("utf-8").split("\0"), values
    except UnicodeDecodeError:
        raise _broken(path, "a surface is not UTF-8") from None


def _climb(nodes: np.ndarray, parent: np.ndarray, root: int, path: str):
    """Walk every key from its last byte's node up to the root: yields (nodes, key indices)
    of the keys not yet at the root, one level per step."""
    active = np.arange(len(nodes))
    current = nodes
    for _ in range(_MAX_KEY_BYTES):
        live = current != root
        active, current = active[live], current[live]
        if not len(active):
            return
        yield current, active
        current = parent[current]
        if (current < 0).any():
            raise _broken(path, "a trie node has no parent")
    raise _broken(path, "a trie key is too long")


def read_token_table(path: str) -> TokenTable:
    """A compiled ``sys.dic`` / ``unk.dic`` (see the module docstring for the layout)."""
    data = _read(path)
    if len(data) < _HEADER.itemsize + 32:
        raise _broken(path, "too short")
    header = np.frombuffer(data, _HEADER, count=1)[0]
    if int(header["magic"]) ^ _MAGIC != len(data):
        raise _broken(path, "its size does not match its header")
    if int(header["version"]) != _DIC_VERSION:
        raise _broken(path, f"version {int(header['version'])}, not {_DIC_VERSION}")
    offset = _HEADER.itemsize
    charset = data[offset : offset + 32].split(b"\0", 1)[0].decode("ascii", "replace")
    offset += 32
    dsize, tsize, fsize = (int(header[k]) for k in ("dsize", "tsize", "fsize"))
    if offset + dsize + tsize + fsize != len(data) or dsize % 8 or tsize % 16:
        raise _broken(path, "section sizes do not add up")
    if charset.lower().replace("-", "").replace("_", "") not in ("utf8", ""):
        raise _broken(path, f"its charset is {charset!r}; the in-graph MeCab reads UTF-8 only")
    units = np.frombuffer(data, _UNIT, count=dsize // 8, offset=offset)
    tokens = np.frombuffer(data, _TOKEN, count=tsize // 16, offset=offset + dsize)
    surfaces, values = _trie_keys(units, path)
    starts, counts = values >> 8, values & 0xFF
    if len(values) and ((starts + counts) > len(tokens)).any():
        raise _broken(path, "a trie value points past the token table")
    return TokenTable(
        surfaces=surfaces,
        token_starts=starts,
        token_counts=counts,
        left_ids=tokens["lc"].astype(np.int32),
        right_ids=tokens["rc"].astype(np.int32),
        costs=tokens["wcost"].astype(np.int32),
        posids=tokens["posid"].astype(np.int32),
        features=data[offset + dsize + tsize :],
        feature_offsets=tokens["feature"].astype(np.int64),
        lsize=int(header["lsize"]),
        rsize=int(header["rsize"]),
        charset=charset,
    )


def read_matrix(path: str) -> tuple[np.ndarray, int, int]:
    """``matrix.bin``: (int16 costs indexed ``right_id + lsize * left_id``, lsize, rsize)."""
    data = _read(path)
    if len(data) < 4:
        raise _broken(path, "too short")
    lsize, rsize = (int(v) for v in np.frombuffer(data, "<u2", count=2))
    if len(data) != 2 * (2 + lsize * rsize):
        raise _broken(path, "its size does not match lsize * rsize")
    return np.frombuffer(data, "<i2", offset=4).copy(), lsize, rsize


def read_char_categories(path: str) -> CharCategories:
    """``char.bin``: category names and per-code-point ``CharInfo`` bit fields."""
    data = _read(path)
    if len(data) < 4:
        raise _broken(path, "too short")
    count = int(np.frombuffer(data, "<u4", count=1)[0])
    if len(data) != 4 + 32 * count + 4 * 0xFFFF:
        raise _broken(path, "its size does not match its category count")
    names = [
        data[4 + 32 * i : 4 + 32 * (i + 1)].split(b"\0", 1)[0].decode("ascii") for i in range(count)
    ]
    info = np.zeros(0x10000, dtype=np.uint32)
    info[:0xFFFF] = np.frombuffer(data, "<u4", offset=4 + 32 * count)
    return CharCategories(
        names=names,
        types=(info & 0x3FFFF).astype(np.int32),
        default_types=((info >> 18) & 0xFF).astype(np.int32),
        lengths=((info >> 26) & 0xF).astype(np.int32),
        groups=((info >> 30) & 1).astype(bool),
        invokes=((info >> 31) & 1).astype(bool),
    )


def _max_grouping_size(directory: str) -> int:
    """dicrc's ``max-grouping-size`` (MeCab's default 24 when unset or 0)."""
    try:
        with open(os.path.join(directory, "dicrc"), encoding="utf-8", errors="replace") as file:
            lines = file.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "max-grouping-size" and not line.lstrip().startswith(";"):
            try:
                size = int(value.strip())
            except ValueError:
                continue
            if size > 0:
                return size
    return 24


@functools.cache
def read_mecab_dictionary(mecab_dic: str) -> MecabDictionary:
    """The installed ``unidic_lite`` or ``ipadic`` dictionary, read without MeCab (cached)."""
    directory = dictionary_directory(mecab_dic)
    return read_dictionary_directory(directory, name=mecab_dic)


def read_dictionary_directory(directory: str, name: str = "") -> MecabDictionary:
    """A compiled MeCab dictionary directory (``sys.dic``, ``unk.dic``, ``matrix.bin``,
    ``char.bin``, ``dicrc``)."""
    system = read_token_table(os.path.join(directory, "sys.dic"))
    unknown = read_token_table(os.path.join(directory, "unk.dic"))
    matrix, lsize, rsize = read_matrix(os.path.join(directory, "matrix.bin"))
    chars = read_char_categories(os.path.join(directory, "char.bin"))
    if (system.lsize, system.rsize) != (lsize, rsize):
        raise _broken(os.path.join(directory, "matrix.bin"), "its sizes differ from sys.dic's")
    for table, file in ((system, "sys.dic"), (unknown, "unk.dic")):
        if len(table.left_ids) and (
            table.right_ids.max() >= lsize or table.left_ids.max() >= rsize
        ):
            raise _broken(os.path.join(directory, file), "a context id is outside matrix.bin")
    counts = zip(unknown.token_starts, unknown.token_counts, strict=True)
    by_name = dict(zip(unknown.surfaces, counts, strict=True))
    missing = [c for c in chars.names if c not in by_name]
    if missing:
        raise _broken(os.path.join(directory, "unk.dic"), f"no entry for category {missing[0]}")
    ranges = np.array([by_name[c] for c in chars.names], dtype=np.int64).reshape(-1, 2)
    return MecabDictionary(
        name=name or os.path.basename(os.path.normpath(directory)),
        directory=directory,
        system=system,
        unknown=unknown,
        unknown_token_starts=ranges[:, 0],
        unknown_token_counts=ranges[:, 1],
        matrix=matrix,
        lsize=lsize,
        rsize=rsize,
        chars=chars,
        max_grouping_size=_max_grouping_size(directory),
    )
