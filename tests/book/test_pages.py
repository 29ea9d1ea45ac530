"""The book's page helpers, corpus texts, timings and the survey's demo: small hand-made inputs, values checked by hand."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd


def captured(monkeypatch):
    """What :class:`xaispec.book.Page`'s display helpers show, as a list."""
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))
    return shown


# ---------------------------------------------------------------- book: page helpers

def test_plain_turns_numpy_scalars_into_python_numbers():
    from xaispec.book.page import plain

    assert type(plain(np.float64(0.25))) is float and plain(np.float64(0.25)) == 0.25
    assert type(plain(np.int64(3))) is int and type(plain(np.bool_(True))) is bool
    assert plain("x") == "x" and plain(7) == 7
    array = np.arange(2)
    assert plain(array) is array  # arrays stay arrays


def test_glue_stores_plain_values_and_markdown(monkeypatch):
    import myst_nb
    from IPython.display import Markdown

    from xaispec.book import Page

    glued = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: glued.append((name, value, display)))
    Page.glue(acc=np.float64(0.5), n=np.int64(4), name="smoke")
    assert glued == [("acc", 0.5, False), ("n", 4, False), ("name", "smoke", False)]
    assert type(glued[0][1]) is float
    glued.clear()
    Page.glue_markdown(about="*text*")
    (name, value, display), = glued
    assert name == "about" and isinstance(value, Markdown) and value.data == "*text*" and display is False


def test_settings_table_writes_each_value():
    from xaispec.book import settings_table

    table = settings_table({"a": 1, "b": [1, "x"]})
    assert list(table.columns) == ["setting", "value"]
    assert table.to_dict("list") == {"setting": ["a", "b"], "value": ["1", "[1, 'x']"]}
    table = settings_table({"b": [1, "x"]}, columns=("package", "version"), value=json.dumps)
    assert table.to_dict("list") == {"package": ["b"], "version": ['[1, "x"]']}
    assert list(settings_table({}).columns) == ["setting", "value"]


def test_table_shows_text_for_an_empty_frame_and_takes_rows(monkeypatch):
    from xaispec.book import Page

    shown = captured(monkeypatch)
    Page.table(pd.DataFrame({"a": []}), caption="c", empty="No rows.")
    assert len(shown) == 1 and shown[0].data == "No rows."
    shown.clear()
    Page.table(pd.DataFrame({"a": []}), empty="")
    assert shown == []
    Page.table([("cpu", "x86")], columns=["item", "value"], sortable=False)
    (html,) = shown
    assert "<th>item</th><th>value</th>" in html.data and ">x86</td>" in html.data


def test_markdown_of_nothing_shows_nothing_and_yaml_keeps_the_order(monkeypatch):
    from xaispec.book import Page

    shown = captured(monkeypatch)
    Page.markdown("")
    assert shown == []
    Page.yaml({"z": 1, "a": {"b": [1, 2]}})
    assert shown[0].data == "```yaml\nz: 1\na:\n  b:\n  - 1\n  - 2\n```"



def test_gallery_without_items_shows_its_empty_text(monkeypatch):
    from xaispec.book import Page

    shown = captured(monkeypatch)
    page = Page.__new__(Page)  # no run needed: an empty gallery writes no figure
    page.gallery([], empty="No figures.")
    assert len(shown) == 1 and shown[0].data == "No figures."
    shown.clear()
    page.gallery([])
    assert shown == []


def test_method_facts_name_the_method_and_its_note():
    from xaispec.book import METHOD_NOTES, method_facts

    assert method_facts("gradcam++") == {"method": "Grad-CAM++", "method_note": METHOD_NOTES["gradcam++"]}
    assert method_facts("mine") == {"method": "mine", "method_note": ""}

# ---------------------------------------------------------------- book: corpora, state, survey

def test_corpora_markdown_and_the_synthetic_note():
    from xaispec.book import corpora_markdown, corpus_about, synthetic_note
    from xaispec.book.corpora import SYNTHETIC_NOTE

    text = corpora_markdown({"digits": "fsdd", "emotions": "mine.csv"})
    assert text == ("* the **digits** corpus `fsdd`: Free Spoken Digit Dataset: 6 speakers, 8 kHz\n"
                    "* the **emotions** corpus `mine.csv`")
    assert synthetic_note({"digits": "fsdd", "emotions": "synthetic-emotions"}) == SYNTHETIC_NOTE
    assert synthetic_note({"digits": "audiomnist", "emotions": "ravdess"}) == ""
    assert "{cite:p}`becker2024audiomnist`" in corpus_about("audiomnist")
    assert corpus_about("x.csv") == "recordings listed in x.csv"  # no text of its own: the description


def test_work_per_kind_sums_the_tasks_of_each_kind():
    from xaispec.book import slowest_first, work_per_kind

    steps = pd.DataFrame({"task": ["train:a", "train:b", "explain:c"], "kind": ["train", "train", "explain"],
                          "seconds": [2.0, 3.0, 1.5], "image_epochs": [10, 20, 0], "forward": [1, 2, 30],
                          "backward": [0, 0, 4], "finished": ["", "", ""]})
    table = work_per_kind(steps)
    assert table.to_dict("records") == [
        {"kind": "explain", "tasks": 1, "seconds": 1.5, "image_epochs": 0, "forward": 30, "backward": 4},
        {"kind": "train", "tasks": 2, "seconds": 5.0, "image_epochs": 30, "forward": 3, "backward": 0}]
    assert list(slowest_first(steps)["task"]) == ["train:b", "train:a", "explain:c"]
    empty = work_per_kind(steps.iloc[:0])
    assert len(empty) == 0 and "tasks" in empty.columns


def test_corpus_runs_opens_the_named_corpora(tmp_path, monkeypatch):
    from xaispec.book import corpus_runs

    monkeypatch.setenv("XAISPEC_ROOT", str(tmp_path))
    runs = corpus_runs("smoke", {"digits": "fsdd", "emotions": None})
    assert list(runs) == ["fsdd"] and runs["fsdd"].dir.name == "fsdd"


class FakeModel:
    def predict(self, x, verbose=0):
        p = np.zeros((len(x), 2))
        p[np.arange(len(x)), (np.arange(len(x)) % 4 == 0).astype(int)] = 1  # class 1 for every 4th input
        return p


def test_toy_demo_explains_one_input_of_each_class(monkeypatch):
    import xaispec.explain
    from xaispec.book import survey

    x = np.arange(48 * 4 * 4, dtype=np.float32).reshape(48, 4, 4, 1)
    y = np.arange(48) % 2
    monkeypatch.setattr(survey, "toy_problem", lambda **kw: (FakeModel(), x, y))
    toy = survey.toy_demo()
    # class 1 is predicted for inputs 0, 4, 8, ... (all of class 0), class 0 for the others: right for
    # inputs 2, 6, 10, ... only
    assert toy.accuracy == 12 / 48 and toy.inputs == 48
    assert np.array_equal(toy.demo, x[:2]) and np.array_equal(toy.background, x[8:40])

    calls = []

    class Explainer:
        def explain(self, demo):
            calls.append(demo)
            return SimpleNamespace(maps=np.stack([-np.ones((4, 4)), np.ones((4, 4))]), runtime=0.123)

    monkeypatch.setattr(xaispec.explain, "get_explainer", lambda method, model, **p: calls.append((method, p))
                        or Explainer())
    fig, caption = survey.toy_figure(toy, "occlusion", "Occlusion", patch=2)
    assert calls[0] == ("occlusion", {"patch": 2}) and calls[1] is toy.demo
    assert caption.startswith("Occlusion on the toy problem") and "(0.12 s for both)" in caption
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["input, class 0", "Occlusion", "input, class 1", "Occlusion"]
    assert fig.axes[1].images[0].get_cmap().name == "RdBu_r" and fig.axes[3].images[0].get_cmap().name == "inferno"
