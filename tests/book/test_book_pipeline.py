"""The book's task graph, executors, plan and sources: fast tests, no TensorFlow, no book build."""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import nbformat
import pytest
import yaml

from xaispec import workflow as pipeline
from xaispec.book import CHAPTERS, PROJECT, BookPlan, resolve_corpora
from xaispec.config import Paths, load_profile
from xaispec.errors import ParameterError
from xaispec.workflow import BLOCKED, DONE, FAILED, UP_TO_DATE, DaskExecutor, Graph, LocalExecutor, Task


# ---------------------------------------------------------------- toy steps (module level: picklable)

def write(path: str, text: str = "x", calls: str | None = None) -> dict:
    """Write ``text`` to ``path``; count the call in ``calls``."""
    if calls:
        with open(calls, "a") as f:
            f.write(Path(path).name + "\n")
    Path(path).write_text(text)
    return {}


def reuse(path: str, calls: str) -> dict:
    """Like a library function that finds its work done: writes nothing new."""
    with open(calls, "a") as f:
        f.write(Path(path).name + "\n")
    if not Path(path).exists():
        Path(path).write_text("made")
        return {}
    return {"reused": True}


def fail(message: str) -> dict:
    raise ValueError(message)


def calls(tmp: Path) -> list[str]:
    path = tmp / "calls.txt"
    return path.read_text().split() if path.exists() else []


def chain(tmp: Path, text: str = "x") -> Graph:
    """a -> b -> c, each writing one file."""
    g = Graph(tmp / "state")
    c = str(tmp / "calls.txt")
    g.add(Task("a", write, {"path": str(tmp / "a.txt"), "text": text, "calls": c}, outputs=(str(tmp / "a.txt"),),
               config={"text": text}))
    g.add(Task("b", write, {"path": str(tmp / "b.txt"), "calls": c}, deps=("a",), outputs=(str(tmp / "b.txt"),)))
    g.add(Task("c", write, {"path": str(tmp / "c.txt"), "calls": c}, deps=("b",), outputs=(str(tmp / "c.txt"),)))
    return g


# ---------------------------------------------------------------- the graph

def test_order_follows_dependencies_and_cycles_are_errors(tmp_path):
    g = Graph(tmp_path)
    g.add(Task("c", write, deps=("b",)))
    g.add(Task("b", write, deps=("a",)))
    g.add(Task("a", write))
    assert [t.id for t in g.order()] == ["a", "b", "c"]
    assert g.dependents("a") == {"b", "c"}
    assert [t.id for t in g.subgraph(["b"]).order()] == ["a", "b"]
    g.add(Task("a2", write, deps=("c",)))
    g.tasks["a"] = Task("a", write, deps=("a2",))
    with pytest.raises(ParameterError, match="cycle"):
        g.order()
    g2 = Graph(tmp_path)
    g2.add(Task("x", write, deps=("nope",)))
    with pytest.raises(ParameterError, match="unknown task"):
        g2.order()


def test_same_id_with_other_settings_is_refused(tmp_path):
    g = Graph(tmp_path)
    g.add(Task("a", write, config={"k": 1}))
    assert g.add(Task("a", write, config={"k": 1})) is g["a"]
    with pytest.raises(ParameterError, match="twice"):
        g.add(Task("a", write, config={"k": 2}))


def test_finished_work_is_skipped(tmp_path):
    result = LocalExecutor(progress=False).run(chain(tmp_path))
    assert [r.state for r in result.results.values()] == [DONE, DONE, DONE]
    assert calls(tmp_path) == ["a.txt", "b.txt", "c.txt"]
    again = LocalExecutor(progress=False).run(chain(tmp_path))
    assert [r.state for r in again.results.values()] == [UP_TO_DATE] * 3
    assert calls(tmp_path) == ["a.txt", "b.txt", "c.txt"]  # nothing ran
    events = [json.loads(line)["event"] for line in (tmp_path / "state" / "events.log").read_text().splitlines()]
    assert events.count("task_start") == 3 and events.count("task_up_to_date") == 3


def test_changed_settings_rerun_the_task_and_its_dependents(tmp_path):
    LocalExecutor(progress=False).run(chain(tmp_path, "x"))
    time.sleep(0.01)
    result = LocalExecutor(progress=False).run(chain(tmp_path, "y"))
    assert [r.state for r in result.results.values()] == [DONE, DONE, DONE]
    assert (tmp_path / "a.txt").read_text() == "y"


def test_missing_output_or_newer_input_reruns(tmp_path):
    LocalExecutor(progress=False).run(chain(tmp_path))
    (tmp_path / "c.txt").unlink()
    result = LocalExecutor(progress=False).run(chain(tmp_path))
    assert [r.state for r in result.results.values()] == [UP_TO_DATE, UP_TO_DATE, DONE]
    # a dependency's output changed behind the graph's back: its dependents run again
    later = time.time() + 5
    os.utime(tmp_path / "a.txt", (later, later))
    result = LocalExecutor(progress=False).run(chain(tmp_path))
    assert [r.state for r in result.results.values()] == [UP_TO_DATE, DONE, DONE]


def test_reused_work_does_not_make_dependents_run(tmp_path):
    c = str(tmp_path / "calls.txt")

    def graph():
        g = Graph(tmp_path / "state")
        g.add(Task("lib", reuse, {"path": str(tmp_path / "lib.txt"), "calls": c}, outputs=(str(tmp_path / "lib.txt"),)))
        g.add(Task("after", write, {"path": str(tmp_path / "after.txt"), "calls": c}, deps=("lib",),
                   outputs=(str(tmp_path / "after.txt"),)))
        return g

    LocalExecutor(progress=False).run(graph())
    # the stamp of "lib" is lost (e.g. made by the CLI): it runs, finds its work done, says so
    pipeline.stamp_path(tmp_path / "state", "lib").unlink()
    result = LocalExecutor(progress=False).run(graph())
    assert result.results["lib"].state == DONE and result.results["lib"].info == {"reused": True}
    assert result.results["after"].state == UP_TO_DATE


def failing_graph(tmp: Path) -> Graph:
    """a fails; b needs a; c is independent; book needs b and c and always runs."""
    g = Graph(tmp / "state")
    g.add(Task("a", fail, {"message": "broken on purpose"}, outputs=(str(tmp / "a.txt"),)))
    g.add(Task("b", write, {"path": str(tmp / "b.txt")}, deps=("a",), outputs=(str(tmp / "b.txt"),)))
    g.add(Task("c", write, {"path": str(tmp / "c.txt")}, outputs=(str(tmp / "c.txt"),)))
    g.add(Task("book", write, {"path": str(tmp / "book.txt")}, deps=("b", "c"), always=True))
    return g


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_a_failure_blocks_its_dependents_and_the_others_go_on(tmp_path, executor):
    ex = LocalExecutor(progress=False) if executor == "local" else DaskExecutor(processes=False, progress=False)
    result = ex.run(failing_graph(tmp_path))
    states = {k: r.state for k, r in result.results.items()}
    assert states == {"a": FAILED, "b": BLOCKED, "c": DONE, "book": DONE}
    assert [r.id for r in result.failures] == ["a"]
    assert result.failures[0].error == "ValueError: broken on purpose"
    assert "Traceback" in result.failures[0].traceback
    assert not result.ok and (tmp_path / "c.txt").exists() and (tmp_path / "book.txt").exists()
    log = (tmp_path / "state" / "events.log").read_text()
    assert '"task_failed"' in log and '"task_blocked"' in log
    assert "1 failed" in result.summary() and "1 blocked" in result.summary()


def test_dask_executor_skips_finished_work_like_the_local_one(tmp_path):
    first = DaskExecutor(processes=False, progress=False).run(chain(tmp_path))
    assert [r.state for r in first.results.values()] == [DONE] * 3
    again = LocalExecutor(progress=False).run(chain(tmp_path))
    assert [r.state for r in again.results.values()] == [UP_TO_DATE] * 3


def test_executor_names():
    assert isinstance(pipeline.get_executor("local"), LocalExecutor)
    assert pipeline.get_executor("dask:tcp://127.0.0.1:8786").address == "tcp://127.0.0.1:8786"
    with pytest.raises(ParameterError, match="local"):
        pipeline.get_executor("slurm")


# ---------------------------------------------------------------- the plan

@pytest.fixture
def plan(tmp_path):
    return BookPlan(load_profile("smoke"), Paths(tmp_path))


def test_smoke_plan_covers_every_chapter_label_and_explainer(plan):
    pages = plan.pages()
    chapters = {c for c, _ in pages}
    assert chapters == set(CHAPTERS)
    explainers = {p["explainer"] for c, p in pages if c in ("explanations", "emotions")}
    from xaispec.evaluation.summary import FLOORS
    from xaispec.explain import METHODS

    # Deep SHAP: on the emotion pages; the floors are measured on the evaluation pages
    assert explainers | {"shap_deep"} == set(METHODS) - set(FLOORS)
    # both labels trained; the smoke book explains one (book.explain_labels: gender's pages run the same code)
    assert [p["label"] for c, p in pages if c == "training"] == ["digit", "gender"]
    assert {p["label"] for c, p in pages if c in ("explanations", "waveforms", "information")} == {"digit"}
    assert [p for c, p in pages if c == "evaluation"] == [{"label": "digit", "fold": 0}, {"label": "emotion", "fold": 0}]
    every = BookPlan(plan.profile.with_overrides({"book.explain_labels": []}), plan.paths).pages()
    assert {p["label"] for c, p in every if c == "explanations"} == {"digit", "gender"}
    graph = plan.graph(pages)
    graph.order()
    kinds = {t.split(":")[0] for t in graph.tasks}
    assert kinds == {"corpus", "prepare", "splits", "train", "evaluate", "summarize", "explain", "measure",
                     "groundtruth", "chapter", "book"}
    # the smoke book's one ground-truth page: the tone-burst cue, learnt by AlexNet and AudioNet, each
    # explained by every method of the book for that network
    assert [p for c, p in pages if c == "groundtruth"] == [{"cue": "tone"}]
    truth = graph["groundtruth:synthetic-cues-tone:cue:0:alexnet"]
    wave = graph["groundtruth:synthetic-cues-tone:cue:0:audionet"]
    assert {d.split(":")[-1] for d in truth.deps} == set(plan.book["explainers"])
    assert {d.split(":")[-1] for d in wave.deps} == set(plan.book["audionet_explainers"])
    assert {d.split(":")[4] for d in wave.deps} == {"audionet"}
    assert {d.split(":")[1] for d in truth.deps + wave.deps} == {"synthetic-cues-tone"}
    assert graph["chapter:groundtruth/tone"].deps == (truth.id, wave.id)
    assert graph["prepare:synthetic-cues-tone:alexnet"] and graph["prepare:synthetic-cues-tone:audionet"]
    assert graph["splits:synthetic-cues-tone"]
    # without AudioNet on the cues (the quick book), neither its store nor its model is made
    alone = BookPlan(plan.profile.with_overrides({"book.cue_models": ["alexnet"]}), plan.paths)
    lean = alone.graph(alone.pages())
    assert "prepare:synthetic-cues-tone:audionet" not in lean.tasks
    assert not [t for t in lean.tasks if t.startswith("train:synthetic-cues-tone") and t.endswith("audionet")]
    with pytest.raises(ParameterError, match="book.cue_models: 'cnn1d' is not a planted-cue model"):
        BookPlan(plan.profile.with_overrides({"book.cue_models": ["cnn1d"]}), plan.paths)
    # a page's measurement waits for every explanation of its model, by every method of the book
    measure = graph["measure:synthetic-digits:digit:0:alexnet"]
    assert {d.split(":")[-1] for d in measure.deps} == set(plan.book["explainers"])
    assert graph["chapter:evaluation/digit_0"].deps == ("measure:synthetic-digits:digit:0:alexnet",)
    assert graph["measure:synthetic-emotions:emotion:0:cnn1d"].config["methods"] == plan.book["emotion_explainers"]
    # the emotion pages: the 1D CNN under the three protocols (the study's split, the grouped one, actor-disjoint)
    summary = graph["summarize:synthetic-emotions:emotion:cnn1d"]
    assert set(summary.deps) == {f"evaluate:synthetic-emotions:emotion:{f}:cnn1d" for f in (0, "grouped", "random")}
    assert summary.config == {"folds": [0]}
    assert graph["book"].always and set(graph["book"].deps) == {t for t in graph.tasks if t.startswith("chapter:")}
    assert plan.page_path("explanations", {"label": "digit", "fold": 0, "explainer": "lime"}) == \
        plan.paths.book / "explanations" / "digit_0_lime.ipynb"


def test_audionet_is_trained_beside_alexnet_and_explained_on_its_waveform_pages(plan, tmp_path):
    pages = plan.pages()
    assert [p for c, p in pages if c == "waveforms"] == [{"label": "digit", "fold": 0}]
    graph = plan.graph(pages)
    graph.order()
    # the waveform store is prepared from the same corpus as the spectrograms, and both networks
    # are trained, evaluated and summarised on the same folds
    assert graph["prepare:synthetic-digits:audionet"].deps == ("corpus:synthetic-digits",)
    for label in ("digit", "gender"):
        assert set(graph[f"chapter:training/{label}"].deps) == {f"summarize:synthetic-digits:{label}:alexnet",
                                                               f"summarize:synthetic-digits:{label}:audionet"}
        train = graph[f"train:synthetic-digits:{label}:0:audionet"]
        assert set(train.deps) == {"prepare:synthetic-digits:audionet", "splits:synthetic-digits"}
        assert train.config["settings"]["optimizer"] == "adam"
        assert plan.notebook_params("training", {"label": label})["models"] == ["alexnet", "audionet"]
    for label in ("digit",):   # the waveform page: AudioNet by its methods, AlexNet by those it shares with them
        deps = graph[f"chapter:waveforms/{label}_0"].deps
        methods = plan.book["audionet_explainers"]
        assert {d for d in deps if d.endswith(tuple(f"audionet:{m}" for m in methods))} == \
            {f"explain:synthetic-digits:{label}:0:audionet:{m}" for m in methods}
        assert {d.split(":")[-1] for d in deps if ":alexnet:" in d} == set(methods) & set(plan.book["explainers"])
        options = graph[f"explain:synthetic-digits:{label}:0:audionet:lrp"].config["options"]
        assert options["figures"] is False and options["wrong"] == options["correct"] == 0
    # without AudioNet: no waveform store, no AudioNet model, no waveform page (and asking for one is refused);
    # the planted cues' AudioNet is book.cue_models's
    off = BookPlan(load_profile("smoke").with_overrides({"book.audionet": False, "book.cue_models": ["alexnet"]}),
                   Paths(tmp_path / "off"))
    graph = off.graph()
    assert not [t for t in graph.tasks if "audionet" in t or t.startswith("chapter:waveforms")]
    with pytest.raises(ParameterError, match="waveforms: this book trains no AudioNet"):
        off.validate("waveforms", {})


def test_the_tasks_pickle_for_a_cluster(plan):
    import pickle

    for task in plan.graph().order():
        assert pickle.loads(pickle.dumps(task)).hash() == task.hash()


@pytest.mark.parametrize("name", ["smoke", "quick", "full"])
def test_profiles_name_valid_explainers(name):
    profile = load_profile(name)
    book = profile.get("book")
    assert set(book["explainers"]) <= set(BookPlan.valid_explainers("alexnet"))
    assert set(book["emotion_explainers"]) <= set(BookPlan.valid_explainers("cnn1d"))
    assert set(book["audionet_explainers"]) <= set(BookPlan.valid_explainers("audionet"))
    assert book["executor"] in ("local", "dask") or book["executor"].startswith("dask:")


def test_bad_page_parameters_list_the_valid_values(plan):
    with pytest.raises(ParameterError, match=r"fold '4' is not valid for gender; valid values: 0, 1, 2, 3"):
        plan.validate("explanations", {"label": "gender", "fold": "4"})
    with pytest.raises(ParameterError, match="valid chapters: preface, survey, data"):
        plan.validate("explanation", {})
    with pytest.raises(ParameterError, match="valid parameters: label, fold, explainer"):
        plan.validate("explanations", {"lable": "digit"})
    with pytest.raises(ParameterError, match="valid values: .*gradcam.*lime"):
        plan.validate("explanations", {"explainer": "shap_permutation"})
    with pytest.raises(ParameterError, match="valid values: shap_gradient, shap_kernel"):
        plan.validate("emotions", {"explainer": "lime"})
    assert plan.validate("explanations", {"label": "gender", "fold": "2", "explainer": "lime"}) == \
        {"label": "gender", "fold": 2, "explainer": "lime"}
    assert plan.validate("information", {}) == {"label": "digit", "fold": 0}
    assert plan.validate("evaluation", {"label": "emotion"}) == {"label": "emotion", "fold": 0}
    with pytest.raises(ParameterError, match="evaluation: label 'speaker' is not valid; valid values: digit, gender, emotion"):
        plan.validate("evaluation", {"label": "speaker"})
    assert plan.notebook_params("evaluation", {"label": "emotion", "fold": 0})["methods"] == plan.book["emotion_explainers"]


def test_corpus_choices(tmp_path):
    assert resolve_corpora(None)["digits"]["name"] == "synthetic-digits"
    both = resolve_corpora("real")
    assert (both["digits"]["name"], both["emotions"]["name"]) == ("audiomnist", "ravdess")
    fsdd = resolve_corpora(["fsdd"])
    assert (fsdd["digits"]["name"], fsdd["emotions"]["name"]) == ("fsdd", "synthetic-emotions")
    (tmp_path / "recordings").mkdir()
    assert resolve_corpora([str(tmp_path)])["digits"] == {"name": "fsdd", "source": str(tmp_path.resolve())}
    with pytest.raises(ParameterError, match="unknown corpus 'nope': use one of synthetic, real"):
        resolve_corpora(["nope"])


def test_cli_chapter_rejects_bad_parameters_in_one_line(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from xaispec.cli import app

    monkeypatch.setenv("XAISPEC_ROOT", str(tmp_path))
    result = CliRunner().invoke(app, ["chapter", "explanations", "-p", "label", "gender", "-p", "fold", "4"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == ["xaispec: error: explanations: fold '4' is not valid for gender; valid values: 0, 1, 2, 3"]
    result = CliRunner().invoke(app, ["chapter", "explanations", "-p", "label"])
    assert result.exit_code == 2 and "needs a name and a value" in result.output
    # good parameters, but no book here yet: refused before anything runs, naming the command to run first
    result = CliRunner().invoke(app, ["chapter", "explanations", "-p", "label", "gender", "--profile", "smoke"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and lines == [f"xaispec: error: no book was built in {tmp_path} yet: run "
                                               "'xaispec book --profile smoke' there first ('xaispec chapter' adds "
                                               "a page to a built book)"]
    assert not (tmp_path / "data").exists() and not (tmp_path / "_config.yml").exists()  # nothing was run


# ---------------------------------------------------------------- sources and configuration

@pytest.mark.parametrize("name", sorted(CHAPTERS))
def test_chapter_sources_are_clean(name):
    nb = nbformat.read(PROJECT / "chapters" / f"{name}.ipynb", as_version=4)
    assert nb.cells[0].cell_type == "markdown" and re.match(r"# \S", nb.cells[0].source)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"
    assert {"profile", "page"} <= set(re.findall(r"^(\w+) =", tagged[0].source, flags=re.M))
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    # every page states its corpus and profile first: the first code cell after the parameters
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "header(" in code[1].source


def test_book_configuration():
    config = yaml.safe_load((PROJECT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
    assert config["execute"]["stderr_output"] == "remove"
    assert config["only_build_toc_files"] is True
    assert config["bibtex_bibfiles"] == ["book/references.bib"]
    assert config["sphinx"]["config"]["numfig"] is True
    toc = yaml.safe_load((PROJECT / "_toc.yml").read_text())
    assert toc["format"] == "jb-book"
    globs = [c["glob"] for part in toc["parts"] for c in part["chapters"] if "glob" in c]
    assert set(globs) == {f"book/{c.name}/*" for c in CHAPTERS.values() if c.params}
    bib = (PROJECT / "book" / "references.bib").read_text()
    for key in ("selvaraju2017gradcam", "chattopadhay2018gradcampp", "ribeiro2016lime", "lundberg2017shap",
                "sundararajan2017ig", "smilkov2017smoothgrad", "zeiler2014visualizing", "becker2018interpreting",
                "becker2024audiomnist", "livingstone2018ravdess", "jackson2018fsdd"):
        assert f"{{{key}," in bib


# ---------------------------------------------------------------- one book run per folder

def test_two_books_in_one_folder_the_second_refuses_naming_the_first(tmp_path):
    """Two ``xaispec book`` at once in one folder: the second stops before doing anything, naming
    the running one; killed with SIGKILL, the first leaves no stale lock behind."""
    import signal
    import subprocess
    import sys

    from xaispec.book.lock import book_lock, lock_path
    from xaispec.errors import BusyError

    env = {**os.environ, "XAISPEC_ROOT": str(tmp_path)}
    xaispec = str(Path(sys.executable).with_name("xaispec"))
    first = subprocess.Popen([xaispec, "book", "--profile", "smoke"], cwd=tmp_path, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    lock = lock_path(Paths(tmp_path))
    try:
        deadline = time.monotonic() + 120
        while not (lock.is_file() and f'"pid": {first.pid}' in lock.read_text()):
            assert first.poll() is None and time.monotonic() < deadline, "the first book never took the lock"
            time.sleep(0.2)
        second = subprocess.run([xaispec, "book", "--profile", "smoke"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 1, second.stderr
        assert (f"{tmp_path}: another xaispec run is working in this folder (pid {first.pid} on "
                in second.stderr and "xaispec book --profile smoke); wait for it to finish" in second.stderr)
        assert second.stdout == ""
        with pytest.raises(BusyError, match=f"pid {first.pid}"), book_lock(Paths(tmp_path)):
            pass
        assert first.poll() is None   # the first still runs, undisturbed
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    with book_lock(Paths(tmp_path)):   # the killed holder's lock went with it
        assert f'"pid": {os.getpid()}' in lock.read_text()
    assert lock.read_text() == ""
