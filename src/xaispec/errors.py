"""The one small exception hierarchy of xaispec.

Every message names the offending file or value and says what is wrong with it,
on one line.
"""


class XaispecError(Exception):
    """Base class of every error xaispec raises on purpose."""


class ParameterError(XaispecError, ValueError):
    """A parameter or configuration value is invalid."""


class DataError(XaispecError):
    """An input file, archive or data store is missing, unreadable or inconsistent."""


class CorpusMismatch(ParameterError):
    """A corpus folder holds a corpus made with other parameters (rebuild it with ``force``)."""


class TrainingError(XaispecError):
    """A model could not be trained (its loss became NaN or infinite: training diverged)."""


class BusyError(XaispecError):
    """Another xaispec process is working in the same project folder (one book run at a time)."""
