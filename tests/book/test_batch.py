"""Workers through a batch system (dask-jobqueue): the job script a SLURM or PBS user submits, and
the whole path -- scheduler, submission, worker jobs, the graph run on them, cancellation --
through stand-ins for ``sbatch`` and ``scancel`` that run each job on this machine as its own
process group, as a node would."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings

import pytest

from xaispec.errors import ParameterError
from xaispec.workflow import DONE, DaskExecutor, Graph, Task
from xaispec.workflow.batch import batch_cluster


SBATCH = """#!/bin/bash
# stands in for SLURM's sbatch: runs the job script as its own process group, prints its id
job="$JOBS/job$RANDOM"
cp "${@: -1}" "$job.sh"
setsid bash "$job.sh" > "$job.log" 2>&1 < /dev/null &
echo "$!" > "$job.id"
echo "Submitted batch job $!"
"""
SCANCEL = """#!/bin/bash
# stands in for scancel: kills the job's process group
for id in "$@"; do kill -9 -- "-$id" 2>/dev/null; echo "$id" >> "$JOBS/cancelled"; done
exit 0
"""


def test_a_slurm_job_script_starts_one_worker_as_the_readme_does(tmp_path):
    script = batch_cluster("slurm", root=tmp_path, cpus=8, memory="32GB", walltime="12:00:00", queue="cpu",
                           account="lab", host="127.0.0.1")
    try:
        text = script.job_script()
    finally:
        script.close()
    assert "#SBATCH --cpus-per-task=8" in text and "#SBATCH -t 12:00:00" in text
    assert "#SBATCH -p cpu" in text and "#SBATCH -A lab" in text
    assert f"export XAISPEC_ROOT={tmp_path.resolve()}" in text
    assert "export DASK_DISTRIBUTED__WORKER__DAEMON=False" in text
    worker = [line for line in text.splitlines() if "dask_worker" in line]
    assert len(worker) == 1 and worker[0].startswith(sys.executable)   # the same environment
    assert "--nthreads 1" in worker[0] and "--resources train=1" in worker[0]


def test_a_pbs_job_asks_for_the_cores_and_memory_given(tmp_path):
    cluster = batch_cluster("pbs", root=tmp_path, cpus=4, memory="16GB", host="127.0.0.1")
    try:
        text = cluster.job_script()
    finally:
        cluster.close()
    assert "#PBS -l select=1:ncpus=4:mem=16GB" in text and "--resources train=1" in text


@pytest.mark.parametrize("system, cpus, match", [("lsf", 2, r"system='lsf' is not one of \['pbs', 'slurm'\]"),
                                                 ("slurm", 0, r"cpus=0 must be a positive integer")])
def test_bad_settings_are_refused_by_name(tmp_path, system, cpus, match):
    with pytest.raises(ParameterError, match=match):
        batch_cluster(system, root=tmp_path, cpus=cpus)


def test_a_graph_runs_on_submitted_jobs_which_see_the_project_and_are_cancelled_at_the_end(tmp_path, monkeypatch):
    bin_dir, jobs = tmp_path / "bin", tmp_path / "jobs"
    bin_dir.mkdir()
    jobs.mkdir()
    for name, text in (("sbatch", SBATCH), ("scancel", SCANCEL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("JOBS", str(jobs))
    root = tmp_path / "project"
    root.mkdir()
    graph = Graph(tmp_path / "state")
    for k, resources in enumerate(({"train": 1}, {"train": 1}, {})):
        out = tmp_path / f"task{k}.txt"   # each task writes the project folder its worker was given
        graph.add(Task(f"task:{k}", subprocess.check_call, {"args": ["sh", "-c", f'echo "$XAISPEC_ROOT" > {out}']},
                       outputs=(str(out),), config={"k": k}, resources=resources))
    cluster = batch_cluster("slurm", root=root, cpus=1, memory="2GB", walltime="00:10:00", host="127.0.0.1")
    ids = []
    try:
        cluster.scale(jobs=2)
        from distributed import Client

        with Client(cluster, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            workers = client.scheduler_info()["workers"]
            assert all(w["resources"] == {"train": 1} and w["nthreads"] == 1 for w in workers.values())
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            result = DaskExecutor(cluster.scheduler_address, progress=False).run(graph)
        assert not [w for w in seen if "declares the resource" in str(w.message)]   # the jobs declare it
        assert all(r.state == DONE for r in result.results.values())
        assert {r.info["worker"] for r in result.results.values()} <= set(workers)   # run by the jobs' workers
        for k in range(3):
            assert (tmp_path / f"task{k}.txt").read_text().strip() == str(root.resolve())
        ids = [p.read_text().strip() for p in jobs.glob("*.id")]
        assert len(ids) == 2
    finally:
        cluster.close()
    deadline = time.monotonic() + 30
    while any(_alive(int(i)) for i in ids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sorted((jobs / "cancelled").read_text().split()) == sorted(ids)   # close() cancelled both jobs
    assert not any(_alive(int(i)) for i in ids)


def _alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_cluster_command_prints_the_job_script_of_this_project(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from xaispec.cli import app

    monkeypatch.setenv("XAISPEC_ROOT", str(tmp_path))
    res = CliRunner().invoke(app, ["cluster", "slurm", "--script", "--cpus", "4", "--walltime", "02:00:00",
                                   "--host", "127.0.0.1"])
    assert res.exit_code == 0, res.output
    assert "#SBATCH --cpus-per-task=4" in res.output and "#SBATCH -t 02:00:00" in res.output
    assert f"export XAISPEC_ROOT={tmp_path.resolve()}" in res.output
    assert not (tmp_path / "data/runs/cluster").exists()   # --script submits nothing and leaves nothing
    bad = CliRunner().invoke(app, ["cluster", "lsf", "--script"])
    assert bad.exit_code != 0 and "system='lsf' is not one of ['pbs', 'slurm']" in bad.output
