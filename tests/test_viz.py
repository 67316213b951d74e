"""Attention visualisation on a tiny converted model: the weights are the encoder's attentions,
the HTML page shows each text exactly as given, heatmaps are readable PNGs, and
``jbert-run-classifier --attention_examples`` writes the page."""

import html
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
import task_fixtures as tf_

import jbert_tf2
from jbert_tf2 import viz
from jbert_tf2.errors import JbertError
from jbert_tf2.tasks import SequenceClassifier

SPACED = "三代目 J SOUL BROTHERSが出演した。"
SPECIAL = "野球<b>&\"試合'"
IN_TSV = "野球<b>&試合"


@pytest.fixture(scope="module")
def model_dir(tiny_model_root):
    return tiny_model_root / "model"


@pytest.fixture(scope="module")
def clf(model_dir):
    return SequenceClassifier.from_pretrained(model_dir, labels=["sports", "it"], max_seq_length=48)


class _TextDivs(HTMLParser):
    """Each ``<div class="text">``'s characters as (text, highlighted) runs; fails on nesting."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.divs: list[list[tuple[str, bool]]] = []
        self.depth = 0
        self.in_div = False
        self.in_span = False

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "div" and "text" in classes:
            self.in_div = True
            self.divs.append([])
        elif tag == "span" and self.in_div:
            assert not self.in_span, "nested span in a text"
            self.in_span = True
        elif self.in_div:
            raise AssertionError(f"unexpected <{tag}> in a text")

    def handle_endtag(self, tag):
        if tag == "span" and self.in_div:
            self.in_span = False
        elif tag == "div":
            self.in_div = False

    def handle_data(self, data):
        if self.in_div:
            self.divs[-1].append((data, self.in_span))


def _text_runs(page: str) -> list[list[tuple[str, bool]]]:
    parser = _TextDivs()
    parser.feed(page)
    parser.close()
    return parser.divs


def test_head_mean_is_the_encoders_attention_and_sums_to_one(model_dir, clf):
    encoder = jbert_tf2.load(model_dir, output_attentions=True)
    encoding = clf.tokenizer.encode(SPACED, max_seq_length=48, pad=False)
    inputs = {
        k: np.asarray([getattr(encoding, k)], np.int32)
        for k in ("input_ids", "input_mask", "segment_ids")
    }
    attentions = [np.asarray(a)[0] for a in encoder(inputs)["attentions"]]

    tokens, offsets, weights = viz.attention_weights(clf, SPACED)
    assert tokens == encoding.tokens and offsets == encoding.offsets
    np.testing.assert_allclose(weights, attentions[-1].mean(axis=0)[0], atol=1e-6)
    assert weights.sum() == pytest.approx(1.0, abs=1e-5)

    _, _, direct = viz.attention_weights(encoder, SPACED, tokenizer=clf.tokenizer)
    np.testing.assert_allclose(direct, weights, atol=1e-6)
    _, _, one = viz.attention_weights(clf, SPACED, layer=0, head=1, source=3)
    np.testing.assert_allclose(one, attentions[0][1, 3], atol=1e-6)
    assert one.sum() == pytest.approx(1.0, abs=1e-5)


def test_bad_arguments_are_user_errors(model_dir, clf):
    with pytest.raises(JbertError, match="layer=2"):
        viz.attention_weights(clf, SPACED, layer=2)
    with pytest.raises(JbertError, match="head=-3"):
        viz.attention_weights(clf, SPACED, head=-3)
    with pytest.raises(JbertError, match="source=99"):
        viz.attention_weights(clf, SPACED, source=99)
    with pytest.raises(JbertError, match="load_tokenizer"):
        viz.attention_weights(jbert_tf2.load(model_dir), SPACED)
    with pytest.raises(JbertError, match="jbert encoder"):
        viz.attention_weights(object(), SPACED)


def test_page_shows_each_text_exactly_and_escaped(clf):
    texts = [SPACED, SPECIAL, "改行も\n  そのまま"]
    page = viz.attention_html(clf, texts, true_labels=["sports", None, "it"], title="a < b")
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert not any(s in page for s in ("<script", "<link", "src=", "http://", "https://"))
    assert "<title>a &lt; b</title>" in page and "predicted: " in page
    assert "<b>" not in page and "&quot;" not in SPECIAL
    assert all(f">{html.escape(c)}<" in page for c in "<>&\"'")

    runs = _text_runs(page)
    assert len(runs) == len(texts)
    for text, text_runs in zip(texts, runs, strict=True):
        assert "".join(data for data, _ in text_runs) == text
        covered = set()
        for start, end in clf.tokenizer.encode(text, max_seq_length=48).offsets:
            covered.update(range(start, end))
        position = 0
        for data, highlighted in text_runs:
            for i in range(position, position + len(data)):
                assert (i in covered) == highlighted, (text, i)
            position += len(data)
        if " " in text:
            assert not all(highlighted for _, highlighted in text_runs)


def test_overlapping_offsets_share_one_span():
    alphas, weights = np.array([0.0, 0.25, 0.5]), np.array([0.1, 0.2, 0.3])
    page = viz._text_html("abcd", [(0, 0), (0, 2), (1, 3)], ["[CLS]", "ab", "bc"], alphas, weights)
    assert [(d, h) for d, h in _text_runs(f'<div class="text">{page}</div>')[0]] == [
        ("a", True),
        ("b", True),
        ("c", True),
        ("d", False),
    ]
    assert "rgba(220,50,32,0.750)" in page and 'title="ab: 0.2000&#10;bc: 0.3000"' in page


def test_heatmap_and_pages_are_written(clf, tmp_path):
    image = pytest.importorskip("matplotlib.image")
    path = viz.attention_heatmap_png(clf, SPACED, tmp_path / "heatmap.png", head=0)
    pixels = image.imread(path)
    assert pixels.ndim == 3 and min(pixels.shape[:2]) > 100

    index = viz.save_attention_pages(clf, [SPACED, SPECIAL], tmp_path / "pages")
    assert index == tmp_path / "pages" / "index.html"
    names = sorted(p.name for p in index.parent.iterdir())
    assert names == ["heatmap_001.png", "heatmap_002.png", "index.html"]
    assert 'href="heatmap_002.png"' in index.read_text(encoding="utf-8")


def test_no_japanese_font_is_one_warning(monkeypatch, caplog):
    monkeypatch.setattr(viz, "cjk_font_family", lambda: None)
    monkeypatch.setattr(viz, "_warned_no_cjk_font", False)
    assert viz._label_fonts(["[CLS]", "SOUL"]) == ["DejaVu Sans"]
    assert not caplog.records
    for _ in range(2):
        assert viz._label_fonts(["[CLS]", "野球"]) == ["DejaVu Sans"]
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "fonts-noto-cjk" in caplog.records[0].getMessage()


def test_without_matplotlib_heatmaps_ask_for_the_extra(clf, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(JbertError, match=r"jbert-tf2\[plots\]"):
        viz.attention_heatmap_png(clf, SPACED, tmp_path / "h.png")
    index = viz.save_attention_pages(clf, [SPACED], tmp_path / "pages")
    assert sorted(p.name for p in index.parent.iterdir()) == ["index.html"]


@pytest.mark.slow
def test_run_classifier_writes_the_attention_page(clf, tmp_path, capsys):
    from jbert_tf2.cli.run_classifier import main

    finetuned = clf.save_pretrained(tmp_path / "finetuned")
    data = tmp_path / "data"
    data.mkdir()
    rows = [[SPACED, "sports"], [IN_TSV, "it"], ["今日はサッカーの試合。", "sports"]]
    tf_.write_tsv(data / "test.tsv", ["text", "label"], rows)
    out = tmp_path / "out"
    flags = [
        "--task_name=tsv",
        f"--data_dir={data}",
        f"--output_dir={out}",
        f"--init_checkpoint={finetuned}",
        "--max_seq_length=48",
        "--do_predict",
    ]
    assert main([*flags, "--attention_examples=2"]) == 0, capsys.readouterr().err
    page = (out / "attention" / "index.html").read_text(encoding="utf-8")
    assert [html.unescape("".join(d for d, _ in r)) for r in _text_runs(page)] == [SPACED, IN_TSV]
    assert "label: sports" in page

    assert main([*flags[:-1], "--do_eval", "--attention_examples=2"]) == 2
    assert "add --do_predict" in capsys.readouterr().err
    assert main([*flags, "--attention_examples=-1"]) == 2
