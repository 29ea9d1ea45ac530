"""``xaispec cluster``: workers on a batch system (SLURM, PBS) for ``--executor dask:ADDRESS``."""
from __future__ import annotations

from typing import Optional

import typer

from .app import app
from .common import project_paths
from .exits import friendly


@app.command("cluster")
@friendly
def cluster_cmd(
    system: str = typer.Argument(..., help="slurm or pbs"),
    jobs: int = typer.Option(2, min=1, help="batch jobs to submit: one worker (one machine) each"),
    cpus: int = typer.Option(2, help="cores per job; TensorFlow uses them all, the worker keeps one thread"),
    memory: str = typer.Option("24GB", help="memory per job"),
    walltime: str = typer.Option("24:00:00", help="how long a job may run (HH:MM:SS)"),
    queue: Optional[str] = typer.Option(None, help="partition (SLURM) or queue (PBS)"),
    account: Optional[str] = typer.Option(None, help="account (project) the jobs are charged to"),
    host: Optional[str] = typer.Option(None, help="address the scheduler listens on (default: this machine's)"),
    script: bool = typer.Option(False, "--script", help="print one job's script and submit nothing"),
):
    """Start a scheduler here and submit worker jobs to a batch system, then wait (Ctrl-C ends them).

    Run it on a login node, in the project folder on a filesystem every node sees, then in another
    terminal: xaispec book --executor dask:ADDRESS (the address is printed and written to
    data/runs/cluster/scheduler.txt). Needs pip install 'xaispec[cluster]'.
    """
    import time

    from .._io import write_text_atomic
    from ..events import EventLog
    from ..workflow.batch import batch_cluster

    paths = project_paths()
    folder = paths.runs / "cluster"
    cluster = batch_cluster(system, root=paths.root, cpus=cpus, memory=memory, walltime=walltime, queue=queue,
                            account=account, host=host, log_directory=None if script else folder / "jobs")
    try:
        if script:
            typer.echo(cluster.job_script())
            return
        folder.mkdir(parents=True, exist_ok=True)
        log = EventLog(folder)
        address = cluster.scheduler_address
        write_text_atomic(folder / "scheduler.txt", address + "\n")
        cluster.scale(jobs=jobs)
        log("cluster_start", system=system, address=address, jobs=jobs, cpus=cpus, memory=memory, walltime=walltime)
        typer.echo(f"scheduler {address}: {jobs} {system} job(s) submitted; in another terminal:\n"
                   f"  xaispec book --executor dask:{address}\nCtrl-C cancels the jobs.")
        try:
            while True:
                time.sleep(5)
        except KeyboardInterrupt:
            log("cluster_stop", address=address)
    finally:
        cluster.close()
