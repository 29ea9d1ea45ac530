"""Workers on a batch system (SLURM or PBS), through ``dask-jobqueue`` (``pip install xaispec[cluster]``).

Each batch job is one machine's worker, started the way the README starts workers by hand: one
thread (TensorFlow spreads a training over the job's cores itself), the ``train`` resource (so
two trainings never share a job's cores), not daemonic (tasks start processes of their own),
and the project folder in ``XAISPEC_ROOT``. The scheduler runs where the cluster object is made
(a login node); the book is then run against its address (``--executor dask:ADDRESS``).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import ParameterError

#: batch systems and the dask-jobqueue class that submits to each
SYSTEMS = {"slurm": "SLURMCluster", "pbs": "PBSCluster"}


def worker_environment(root: str | os.PathLike) -> dict[str, str]:
    """What every worker job exports before its worker starts: the shared project folder,
    non-daemonic workers, TensorFlow's start-up lines kept out of the job's log."""
    return {"XAISPEC_ROOT": str(Path(root).resolve()), "DASK_DISTRIBUTED__WORKER__DAEMON": "False",
            "TF_CPP_MIN_LOG_LEVEL": "3"}


def batch_cluster(system: str, *, root: str | os.PathLike, cpus: int = 2, memory: str = "24GB",
                  walltime: str = "24:00:00", queue: str | None = None, account: str | None = None,
                  python: str | None = None, log_directory: str | os.PathLike | None = None,
                  host: str | None = None):
    """A ``dask-jobqueue`` cluster whose jobs each run one xaispec worker.

    Parameters
    ----------
    system : {'slurm', 'pbs'}
        The batch system: jobs go through ``sbatch``/``scancel`` or ``qsub``/``qdel``.
    root : path
        The project folder, on a filesystem every node sees (exported as ``XAISPEC_ROOT``).
    cpus : int
        Cores a job asks for (SLURM ``--cpus-per-task``, PBS ``ncpus``); the worker keeps one
        thread and lets TensorFlow use them all.
    memory : str
        Memory a job asks for, e.g. ``"24GB"``.
    walltime : str
        ``HH:MM:SS`` a job may run; a job that ends mid-task has its task rerun elsewhere.
    queue, account : str, optional
        The partition (queue) and the account (project) to charge.
    python : str, optional
        The interpreter the jobs run (default: this one, so the same environment on a shared
        filesystem).
    log_directory : path, optional
        Where the jobs' own logs go (default: the batch system's).
    host : str, optional
        The address the scheduler listens on (default: the machine's; set it when the login node
        has several networks).

    Returns
    -------
    dask_jobqueue.JobQueueCluster
        Not yet scaled: ``cluster.scale(jobs=N)`` submits N jobs.
    """
    if system not in SYSTEMS:
        raise ParameterError(f"system={system!r} is not one of {sorted(SYSTEMS)}")
    if not isinstance(cpus, int) or cpus < 1:
        raise ParameterError(f"cpus={cpus!r} must be a positive integer")
    try:
        import dask_jobqueue
    except ImportError as exc:
        raise ParameterError(f"system={system!r} needs dask-jobqueue: pip install 'xaispec[cluster]'") from exc
    exports = [f"export {k}={v}" for k, v in worker_environment(root).items()]
    options = dict(cores=1, processes=1, memory=memory, walltime=walltime, queue=queue, account=account,
                   python=python or sys.executable, job_script_prologue=exports, job_name="xaispec-worker",
                   worker_extra_args=["--resources", "train=1"],
                   log_directory=str(log_directory) if log_directory else None,
                   scheduler_options={"dashboard_address": None, **({"host": host} if host else {})})
    if system == "slurm":
        options["job_cpu"] = cpus  # --cpus-per-task: the cores TensorFlow gets, beside the worker's one thread
    else:
        options["resource_spec"] = f"select=1:ncpus={cpus}:mem={memory}"
    return getattr(dask_jobqueue, SYSTEMS[system])(**options)
