"""Writes ner_sample/{train,dev,test}.bio: template sentences with named entities, split into
UniDic short-unit words by MeCab and tagged BIO, in UD_Japanese-GSD-NE's layout.

Each sentence is a ``# text = ...`` line (so 「三代目 J SOUL BROTHERS」 keeps its spaces), then one
``word<TAB>tag`` line per word and a blank line. The sentences are original, made from the
templates and entity lists below with a fixed seed, so running this again writes the same files.

Usage::

    python examples/data/make_ner_sample.py
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

from jbert_tf2.tokenization.mecab import MecabWordSplitter

# Entity lists by type and, after the colon, by the role a template needs them in, so that
# a band plays a concert hall and a company launches its own product. Paired pools ("maker",
# "sight") are drawn together: the n-th product belongs to the n-th maker.
ENTITIES = {
    "PERSON": "山田太郎 佐藤花子 鈴木一郎 田中美咲 高橋健 伊藤直子 渡辺翔太 中村由美 小林誠 加藤恵".split(),
    "ORG:artist": ["三代目 J SOUL BROTHERS", "サザンオールスターズ", "スピッツ", "嵐"],
    "ORG:company": "トヨタ自動車 ソニー 任天堂 パナソニック 楽天 日立製作所".split(),
    "ORG:maker": "ソニー 任天堂 トヨタ自動車 アップル マイクロソフト".split(),
    "PRODUCT:maker": "プレイステーション ニンテンドースイッチ プリウス iPhone Windows".split(),
    "PRODUCT": "iPhone プレイステーション ニンテンドースイッチ プリウス ウォークマン".split(),
    "ORG:university": "東京大学 京都大学 大阪大学 早稲田大学".split(),
    "ORG:media": "読売新聞 朝日新聞 日本経済新聞".split(),
    "ORG:bank": "日本銀行 欧州中央銀行".split(),
    "GPE": "東京 大阪 京都 北海道 福岡 名古屋 横浜 アメリカ 中国 フランス".split(),
    "GPE:city": "東京 大阪 京都 福岡 名古屋 横浜 札幌".split(),
    "GPE:abroad": "アメリカ 中国 フランス イギリス 韓国 ドイツ".split(),
    "GPE:sight": "東京 東京 大阪 京都 広島 名古屋".split(),
    "FAC:sight": "東京タワー 東京スカイツリー 大阪城 金閣寺 原爆ドーム 名古屋城".split(),
    "FAC:venue": "東京ドーム 大阪城ホール 日本武道館 札幌ドーム 横浜アリーナ".split(),
    "FAC:ballpark": "東京ドーム 甲子園球場 札幌ドーム 横浜スタジアム".split(),
    "FAC:airport": "羽田空港 成田空港 関西国際空港 中部国際空港".split(),
    "DATE:past": "2019年4月1日 昨年 2020年 12月24日 先週の日曜日 去年の秋".split(),
    "DATE:future": "来月 今年の夏 12月24日 来年の春 8月".split(),
    "DATE:day": "12月24日 4月1日 先週の日曜日 昨日 5日".split(),
    "DATE:recent": "先週 先週の日曜日 今月の初め 月曜日".split(),
}

TEMPLATES = [
    "{ORG:artist}が{DATE:past}に{FAC:venue}で公演した。",
    "{ORG:artist}は{FAC:venue}でライブを開いた。",
    "{ORG:artist}のファンが{FAC:venue}の前に集まった。",
    "{DATE:future}に{GPE:city}で{ORG:artist}のコンサートが開かれる。",
    "{PERSON}さんは{DATE:past}に{ORG:company}に入社した。",
    "{ORG:company}の社長は{PERSON}氏です。",
    "{ORG:company}は{GPE}に新しい工場を建設する。",
    "{ORG:company}が{DATE:past}に発表した決算によると、売り上げは前年より増えた。",
    "{GPE}出身の{PERSON}さんが{ORG:company}の記者会見に出席した。",
    "{ORG:maker}は{DATE:past}、新しい{PRODUCT:maker}を発表した。",
    "{PRODUCT}の新しいモデルが{DATE:past}に発売された。",
    "{PERSON}さんが{GPE:city}で{PRODUCT}を買った。",
    "{GPE:sight}の{FAC:sight}には多くの観光客が訪れる。",
    "{DATE:past}、{PERSON}さんは{GPE}から{GPE}へ引っ越した。",
    "{PERSON}選手が{FAC:ballpark}でホームランを打った。",
    "{PERSON}さんは{FAC:airport}から{GPE:abroad}へ向かった。",
    "{GPE:city}では{DATE:recent}から雨の日が続いている。",
    "{ORG:university}の研究チームは{DATE:past}、新しい論文を発表した。",
    "{PERSON}さんは{ORG:university}を卒業した後、{GPE:abroad}に留学した。",
    "{ORG:bank}は{DATE:day}に金利の据え置きを決めた。",
    "{PERSON}さんの記事が{DATE:day}の{ORG:media}に掲載された。",
]

# Kept out of the data: examples/ner.py tags it as a sentence the model has not seen.
HELD_OUT = "三代目 J SOUL BROTHERSが東京ドームで公演した。"
SPLITS = {"train": 150, "dev": 30, "test": 30}
SLOT = re.compile(r"\{(\w+)(?::(\w+))?\}")


def fill(template: str, rng: random.Random) -> tuple[str, list[tuple[int, int, str]]]:
    """The template with each slot replaced by an entity (no value twice in one sentence;
    paired pools share one draw), and the entities as (start, end, type) character spans."""
    text, spans, used, position = "", [], set(), 0
    pairs: dict[str, int] = {}
    for match in SLOT.finditer(template):
        kind, role = match.group(1), match.group(2)
        pool = ENTITIES[f"{kind}:{role}" if role else kind]
        if role in ("maker", "sight"):
            index = pairs.setdefault(role, rng.randrange(len(pool)))
            value = pool[index]
        else:
            value = rng.choice([v for v in pool if v not in used])
        used.add(value)
        text += template[position : match.start()]
        spans.append((len(text), len(text) + len(value), kind))
        text += value
        position = match.end()
    return text + template[position:], spans


def tag(
    text: str, spans: list[tuple[int, int, str]], splitter: MecabWordSplitter
) -> list[tuple[str, str]] | None:
    """(word, BIO tag) pairs, or None when an entity does not start and end on word edges."""
    words = splitter.split(text)
    starts = {start for _, start, _, _ in words}
    ends = {end for _, _, end, _ in words}
    if any(start not in starts or end not in ends for start, end, _ in spans):
        return None
    tagged = []
    for _, start, end, _ in words:
        label = "O"
        for a, b, kind in spans:
            if a <= start and end <= b:
                label = ("B-" if start == a else "I-") + kind
        tagged.append((text[start:end], label))
    return tagged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out_dir",
        type=Path,
        default=Path(__file__).resolve().parent / "ner_sample",
        help="where to write train.bio, dev.bio and test.bio (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    splitter = MecabWordSplitter(False, "unidic_lite")
    sentences: list[tuple[str, list[tuple[str, str]]]] = []
    seen = {HELD_OUT}
    while len(sentences) < sum(SPLITS.values()):
        text, spans = fill(rng.choice(TEMPLATES), rng)
        if text in seen:
            continue
        seen.add(text)
        tagged = tag(text, spans, splitter)
        if tagged is not None:
            sentences.append((text, tagged))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    start = 0
    for name, count in SPLITS.items():
        lines = []
        for text, tagged in sentences[start : start + count]:
            lines.append(f"# text = {text}")
            lines += [f"{word}\t{label}" for word, label in tagged]
            lines.append("")
        (args.out_dir / f"{name}.bio").write_text("\n".join(lines), encoding="utf-8")
        print(f"{args.out_dir / name}.bio: {count} sentences")
        start += count
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
