"""The Dask executor on a real cluster: a ``dask scheduler`` and ``dask worker`` processes on
127.0.0.1, started and stopped by the test, as users start them on their machines."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xaispec.workflow import DONE, DaskExecutor, Graph, Task

DASK = str(Path(sys.executable).with_name("dask"))


@contextlib.contextmanager
def cluster(tmp_path: Path, *resources: str | None, timeout: float = 90):
    """A scheduler and one worker per entry of ``resources`` (``"train=1"`` or None), each a process
    of its own with one thread (its own process group, as on a machine of its own); yields the
    scheduler address, each worker's address in order, and each worker's process by address."""
    from distributed import Client

    procs = []
    logs = tmp_path / "cluster-logs"
    logs.mkdir(parents=True)

    def start(name, *args):
        out = open(logs / f"{name}.log", "w")
        procs.append(subprocess.Popen([DASK, *args], stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                      env={**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}))

    try:
        info = tmp_path / "scheduler.json"
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
              "--scheduler-file", str(info))
        deadline = time.monotonic() + timeout
        while not info.is_file():
            assert time.monotonic() < deadline and procs[0].poll() is None, (logs / "scheduler.log").read_text()
            time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        for k, res in enumerate(resources):
            start(f"worker{k}", "worker", address, "--name", f"w{k}", "--nthreads", "1", "--no-dashboard",
                  *(["--resources", res] if res else []))
        with Client(address, timeout=timeout) as client:
            client.wait_for_workers(len(resources), timeout=timeout)
            by_name = {w["name"]: a for a, w in client.scheduler_info()["workers"].items()}
        workers = [by_name[f"w{k}"] for k in range(len(resources))]
        yield address, workers, dict(zip(workers, procs[1:]))
    finally:
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def toy_graph(tmp_path: Path, trainings: int = 4, others: int = 4) -> Graph:
    """Tasks that take half a second each (a shell's sleep, so any worker can import them):
    ``train:k`` ask for a ``train`` slot, ``other:k`` for nothing."""
    graph = Graph(tmp_path / "state")
    for kind, n, resources in (("train", trainings, {"train": 1}), ("other", others, {})):
        for k in range(n):
            out = tmp_path / f"{kind}{k}.txt"
            graph.add(Task(f"{kind}:{k}", subprocess.check_call, {"args": ["sh", "-c", f"sleep 0.5; echo ok > {out}"]},
                           outputs=(str(out),), config={"k": k}, resources=resources))
    return graph


def test_trainings_run_one_at_a_time_on_the_worker_that_declares_the_train_slot(tmp_path):
    with cluster(tmp_path, "train=1", None) as (address, (trainer, plain), _):
        result = DaskExecutor(address, progress=False).run(toy_graph(tmp_path))
    assert all(r.state == DONE for r in result.results.values())
    trainings = [r.info for tid, r in result.results.items() if tid.startswith("train:")]
    assert {i["worker"] for i in trainings} == {trainer}
    spans = sorted((i["started"], i["ended"]) for i in trainings)
    assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:]))   # never two at once
    others = {r.info["worker"] for tid, r in result.results.items() if tid.startswith("other:")}
    assert others <= {trainer, plain}
    log = [json.loads(line) for line in (tmp_path / "state/events.log").read_text().splitlines()]
    done = {e["task"]: e["worker"] for e in log if e["event"] == "task_done"}
    assert done["train:0"] == trainer and len(done) == 8   # the events log says where each task ran
    assert not any(e["event"] == "resources_missing" for e in log)


def test_without_a_worker_declaring_the_slot_trainings_still_run_after_one_warning(tmp_path):
    with cluster(tmp_path, None) as (address, (plain,), _):
        with pytest.warns(RuntimeWarning, match=r"no worker of the cluster declares the resource\(s\) \['train'\]: "
                                                r"the tasks that ask for them run on any worker \(start one worker "
                                                r"per machine with --resources train=1\)") as warned:
            result = DaskExecutor(address, progress=False).run(toy_graph(tmp_path, trainings=2, others=1))
    assert len([w for w in warned if w.category is RuntimeWarning]) == 1
    assert all(r.state == DONE and r.info["worker"] == plain for r in result.results.values())
    log = (tmp_path / "state/events.log").read_text()
    assert log.count('"resources_missing"') == 1


# ------------------------------------------------------------- a slice of the book graph

SLICE_PROFILE = """\
name: cluster-slice
description: a smoke-size slice of the book graph on real speech (the cluster tests)
splits:
  n_folds: 3
train:
  scaling: standardize
  validate_max: 40
  alexnet: {epochs: 5, batch_size: 8, learning_rate: 0.01}
book:
  labels: [digit]
  folds: [0]
  audionet: false
  cues: []
  explainers: [gradcam]
  examples_max: 2
  wrong: 1
  correct: 1
"""
TRAIN, EVALUATE = "train:fsdd:digit:0:alexnet", "evaluate:fsdd:digit:0:alexnet"
PAGE, EXPLAIN = "chapter:explanations/digit_0_gradcam", "explain:fsdd:digit:0:alexnet:gradcam"


def slice_graph(root: Path, corpus: Path, profile: Path, *, page: bool = False) -> Graph:
    """The book's own tasks for one AlexNet: corpus, prepare, splits, train, evaluate; with ``page``
    its Grad-CAM explanation and that page too."""
    from xaispec.book.corpora import resolve_corpora
    from xaispec.book.plan import BookPlan
    from xaispec.config import Paths, load_profile

    plan = BookPlan(load_profile(str(profile)), Paths(root), resolve_corpora([str(corpus)]))
    pages = [("explanations", {"label": "digit", "fold": 0, "explainer": "gradcam"})] if page else []
    graph = plan.graph(pages=pages, build=False)
    assert plan.model_tasks(graph, "digits", "digit", 0, "alexnet") == EVALUATE
    return graph.subgraph([PAGE if page else EVALUATE])


def results_of(root: Path) -> dict:
    """What a run leaves: the store's arrays and attributes (but the project folder it records reading
    from), the splits' bytes, every weight, the predictions."""
    import h5py
    import keras

    run = root / "data/runs/fsdd"
    model = keras.saving.load_model(run / "models/AlexNet_digit_0.keras", compile=False)
    store = {}
    with h5py.File(root / "data/processed/fsdd/alexnet.h5", "r") as f:
        for name in ("x", *(f"index/{k}" for k in f["index"])):
            value = f[name][()]
            store[name] = value.tobytes() if value.dtype.kind in "biufc" else [str(v) for v in value]
        store.update({f"@{k}": str(v) for k, v in f.attrs.items() if k != "source_root"})
    assert store["@source_root_resolved"].endswith("fsdd-slice")   # both read the same recordings
    return {"store": store,
            "splits": {p.name: p.read_bytes() for p in sorted((run / "splits").glob("*"))},
            "weights": [w.tobytes() for w in model.get_weights()],
            "predictions": (run / "predictions/predictions_digit_0.csv").read_bytes()}


def test_a_book_slice_on_a_cluster_survives_a_lost_training_worker_and_a_new_scheduler(tmp_path, fsdd):
    """On a scheduler and two worker processes: the worker training the AlexNet is killed (SIGKILL,
    its whole process group, as a machine is lost) after its first epoch's checkpoint. The graph
    completes, the training resumes on the other worker from that checkpoint, the results equal a
    local run's bit for bit, nothing is half-written, the events logs say what happened; then a new
    scheduler and worker find everything finished and execute the model's explanation page."""
    import re
    import threading

    import nbformat
    from distributed import Client

    from xaispec.workflow import UP_TO_DATE, LocalExecutor

    corpus = tmp_path / "fsdd-slice"   # 6 speakers x 10 digits x 1 take of real speech, in place
    (corpus / "recordings").mkdir(parents=True)
    for wav in sorted((fsdd / "recordings").glob("*.wav")):
        if wav.stem.endswith("_0"):
            (corpus / "recordings" / wav.name).symlink_to(wav)
    (corpus / "speakers.json").symlink_to(fsdd / "speakers.json")
    profile = tmp_path / "slice.yaml"
    profile.write_text(SLICE_PROFILE)
    local, remote = tmp_path / "local", tmp_path / "remote"
    local.mkdir()
    remote.mkdir()

    reference = LocalExecutor(progress=False).run(slice_graph(local, corpus, profile))
    assert reference.ok, reference.summary()

    checkpoint = remote / "data/runs/fsdd/checkpoints/AlexNet_digit_0/state.json"
    with cluster(tmp_path / "first", "train=1", "train=1") as (address, workers, procs):
        outcome = {}
        runner = threading.Thread(target=lambda: outcome.update(
            result=DaskExecutor(address, progress=False).run(slice_graph(remote, corpus, profile))))
        runner.start()
        deadline = time.monotonic() + 600
        while not checkpoint.is_file():   # the first epoch is done: kill the worker training the model
            assert time.monotonic() < deadline and runner.is_alive(), "the training never wrote a checkpoint"
            time.sleep(0.2)
        with Client(address) as client:
            training = [w for w, keys in client.processing().items() if any(k.startswith("train_") for k in keys)]
        assert len(training) == 1, f"the training was no longer running when its checkpoint appeared: {training}"
        (lost,) = training
        os.killpg(procs[lost].pid, signal.SIGKILL)
        runner.join(timeout=900)
        assert not runner.is_alive()
    result = outcome["result"]
    assert result.ok, result.summary()
    assert result.results[TRAIN].info["worker"] not in (lost,) and result.results[TRAIN].info["worker"] in workers

    ours, theirs = results_of(remote), results_of(local)
    differ = [key for key in ours if ours[key] != theirs[key]]   # named, not diffed: the values are large
    assert not differ, f"{differ} differ from the local run's"
    assert not [p for p in (remote / "data").rglob("*") if ".tmp" in p.name or ".parts-" in p.name]
    events = [json.loads(line) for line in (remote / "data/runs/book/events.log").read_text().splitlines()]
    lost_events = [e for e in events if e["event"] == "worker_lost"]
    assert len(lost_events) == 1 and lost_events[0]["worker"] == lost and TRAIN in lost_events[0]["tasks"]
    run_events = [json.loads(line) for line in (remote / "data/runs/fsdd/events.log").read_text().splitlines()]
    resumed = [e for e in run_events if e["event"] == "train_resumed"]
    assert len(resumed) == 1 and resumed[0]["from_epoch"] >= 1   # from the checkpoint, not from the start

    # a new scheduler: nothing finished runs again; the explanation and its page, added to the graph,
    # run on its worker (the page's notebook kernel started by the worker process)
    with cluster(tmp_path / "second", "train=1") as (address, (worker,), _):
        again = DaskExecutor(address, progress=False).run(slice_graph(remote, corpus, profile, page=True))
    assert again.ok, again.summary()
    assert {tid: r.state for tid, r in again.results.items() if tid not in (EXPLAIN, PAGE)} == \
        {tid: UP_TO_DATE for tid in result.results}
    assert again.results[EXPLAIN].state == again.results[PAGE].state == DONE
    assert again.results[PAGE].info["worker"] == worker
    page = nbformat.read(remote / "book/explanations/digit_0_gradcam.ipynb", as_version=4)
    outputs = [o for c in page.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert outputs and not [o for o in outputs if o.get("output_type") == "error"]
    markdown = "".join("".join(o.get("data", {}).get("text/markdown", "")) for o in outputs)
    figures = re.findall(r"\{figure\} (\S+)", markdown)
    assert figures and all((remote / "book/explanations" / f).is_file() for f in figures)   # the maps drawn in that run
    assert not [p for p in (remote / "book").rglob("*") if ".work" in p.parts and p.is_file()]
