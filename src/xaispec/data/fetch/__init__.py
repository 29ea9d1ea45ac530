"""Getting real corpora onto disk: download, verify, extract safely, link.

The one entry point most code needs is :func:`fetch`::

    root = fetch("ravdess", dest="corpora/ravdess", downloads_dir="downloads")

It brings the corpus to ``dest`` from the known URL (or from ``source``: another
URL, a local archive, or a local folder) and returns the corpus root.

Guarantees
----------
* Downloads go to ``<downloads_dir>/<filename>.part`` and are resumed with an HTTP
  ``Range`` request; a file is renamed to its final name only once it is complete
  and, when a size or MD5 is published, verified. A file that fails verification is
  renamed to ``<filename>.bad`` and never used.
* Archives are extracted into ``<dest.parent>/.<dest.name>.partial/`` with every
  entry checked (absolute paths, ``..``, links pointing outside are refused); the
  corpus root is moved to ``dest`` with a rename only when extraction is complete,
  and carries ``.xaispec-complete.json``.
* Half-finished states are detected and completed, never silently used: a leftover
  ``.partial`` folder is removed and extraction redone; a ``dest`` folder without
  the completion marker is reported and moved aside to ``<dest>.incomplete-<n>``.
* A local folder is never copied: ``dest`` becomes a symlink to its corpus root.
"""
from .archives import safe_extract
from .corpus import fetch
from .dest import COMPLETE_MARKER
from .http import download
from .sources import SOURCES, CorpusSource, locate_root

__all__ = [
    "COMPLETE_MARKER",
    "CorpusSource",
    "SOURCES",
    "download",
    "fetch",
    "locate_root",
    "safe_extract",
]
