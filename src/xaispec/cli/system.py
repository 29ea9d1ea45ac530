"""``xaispec version``, ``xaispec system``, ``xaispec profile``: what is installed, on which machine, with which settings."""
from __future__ import annotations

import typer

from .app import app
from .common import profile_with
from .exits import friendly


@app.command()
@friendly
def version():
    """Print the version, the git commit and key package versions."""
    from ..provenance import record

    rec = record()
    typer.echo(f"xaispec {rec['versions']['xaispec']} (commit {rec['git_commit']})")
    for name, ver in rec["versions"].items():
        typer.echo(f"  {name} {ver}")


@app.command()
@friendly
def system(
    probe: bool = typer.Option(True, "--probe/--no-probe", help="time AlexNet training and inference (about 10 s)"),
    seconds: float = typer.Option(2.0, help="seconds each throughput measurement lasts"),
    json_out: bool = typer.Option(False, "--json", help="print the report as JSON"),
):
    """What this machine is and will do: processor features, cores, GPUs, the precision that
    train.mixed_precision: auto picks and why, and AlexNet images/s in each precision."""
    import json

    from ..models.machine import report, report_lines

    rep = report(seconds=seconds, probe=probe)
    typer.echo(json.dumps(rep, indent=2, default=str) if json_out else "\n".join(report_lines(rep)))


@app.command()
@friendly
def profile(name: str = typer.Argument("quick", help="smoke, quick, full or a YAML path")):
    """Show a validated run profile."""
    import yaml

    p = profile_with(name)
    typer.echo(f"# profile {p.name} ({p.source})")
    typer.echo(yaml.safe_dump(p.values, sort_keys=False).rstrip())
