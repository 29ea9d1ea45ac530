"""The typer application and its command groups; the commands register themselves on them."""
from __future__ import annotations

import typer

app = typer.Typer(help="Explainable AI for spectrogram-based audio classification.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
data_app = typer.Typer(help="Corpora: download, synthesize, index, prepare stores, make splits.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")
info_app = typer.Typer(help="Input information: predictions, test participants, sexes.", no_args_is_help=True)
