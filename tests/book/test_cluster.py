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
    of its own with one thread; yields the scheduler address and each worker's address, in order."""
    from distributed import Client

    procs = []
    logs = tmp_path / "cluster-logs"
    logs.mkdir()

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
        yield address, [by_name[f"w{k}"] for k in range(len(resources))]
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
    with cluster(tmp_path, "train=1", None) as (address, (trainer, plain)):
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
    with cluster(tmp_path, None) as (address, (plain,)):
        with pytest.warns(RuntimeWarning, match=r"no worker of the cluster declares the resource\(s\) \['train'\]: "
                                                r"the tasks that ask for them run on any worker \(start one worker "
                                                r"per machine with --resources train=1\)") as warned:
            result = DaskExecutor(address, progress=False).run(toy_graph(tmp_path, trainings=2, others=1))
    assert len([w for w in warned if w.category is RuntimeWarning]) == 1
    assert all(r.state == DONE and r.info["worker"] == plain for r in result.results.values())
    log = (tmp_path / "state/events.log").read_text()
    assert log.count('"resources_missing"') == 1
