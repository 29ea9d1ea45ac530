"""xaispec: explainable AI for spectrogram-based audio classification.

Importing the package is light: it never imports TensorFlow. Heavy modules
(training, explanations) import it where they need it.
"""
from importlib.metadata import PackageNotFoundError, version as _version

from . import _compat
from .errors import DataError, ParameterError, XaispecError

_compat.install()  # old import paths still work for one release (README: changelog)

try:
    __version__ = _version("xaispec")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["DataError", "ParameterError", "XaispecError", "__version__"]
