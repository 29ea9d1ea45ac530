"""Display helpers of an executed page: header, numbered figures, sortable tables, audio players.

A chapter makes one :class:`Page` from its parameters and shows everything through it, so
that figures are files beside the page with labels for ``{numref}``, tables sort on a click
(a little inline JavaScript, :data:`SORT_JS`) and audio is embedded in the HTML. Numbers
the page's prose quotes are glued (:meth:`Page.glue`) and pasted into its Markdown cells
with ``{glue:text}`name``` when the book is built.
"""
from __future__ import annotations

import base64
import html
import os
import re
import shutil
from pathlib import Path

from .corpora import corpus_label
from .state import context

#: the click-to-sort function of the pages' tables, defined once per page
SORT_JS = """<script>
if (!window.xaispecSort) {
  window.xaispecSort = function (th) {
    var table = th.closest('table'), body = table.tBodies[0];
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var asc = th.getAttribute('data-order') !== 'asc';
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute('data-order'); });
    th.setAttribute('data-order', asc ? 'asc' : 'desc');
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].getAttribute('data-value'), y = b.cells[col].getAttribute('data-value');
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  };
}
</script>"""


def _slug(text: str) -> str:
    """A label-safe name; ``+`` becomes ``p`` so that gradcam and gradcam++ differ."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower().replace("+", "p")).strip("-")


class Page:
    """Display helpers of one executed page: its header, figures, tables and audio.

    Parameters
    ----------
    page : str
        The page's path under ``book/`` without suffix (papermill passes it), e.g.
        ``explanations/digit_0_lime``; names figure files and labels.
    profile : str
        The run profile's name (or YAML path).
    corpus : str, optional
    params : dict
        The page's parameters, shown in the header.
    """

    def __init__(self, page: str, profile: str, corpus: str | None = None, **params):
        self.page = page
        self.profile_ref = profile
        self.corpus = corpus
        self.params = params
        self.paths, self.profile, self.run = context(profile, corpus)
        self.files = Path.cwd() / f"{Path(page).name}_files"
        self._n = 0

    # -- header ------------------------------------------------------------------------
    def header(self, corpora: dict | None = None) -> None:
        """The page's first output: corpus, profile and parameters."""
        from IPython.display import Markdown, display

        from ..data.corpora import get_corpus

        rows = []
        if self.corpus:
            spec = get_corpus(self.corpus)
            rows.append(("corpus", f"`{corpus_label(self.corpus)}` ({spec.description})"))
        for kind, name in (corpora or {}).items():
            rows.append((f"{kind} corpus", f"`{corpus_label(name)}`"))
        desc = self.profile.get("description")
        rows.append(("profile", f"`{self.profile.name}`" + (f" ({desc})" if desc else "")))
        for key, value in self.params.items():
            rows.append((key, f"`{value}`"))
        text = "| this page | |\n| --- | --- |\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
        display(Markdown(text))

    # -- figures -----------------------------------------------------------------------
    def _figure_file(self, fig_or_path, name: str) -> Path:
        self.files.mkdir(parents=True, exist_ok=True)
        target = self.files / f"{_slug(name)}.png"
        if isinstance(fig_or_path, (str, os.PathLike)):
            shutil.copyfile(fig_or_path, target)
        else:
            fig_or_path.savefig(target, format="png", dpi=100, bbox_inches="tight")
            import matplotlib.pyplot as plt

            plt.close(fig_or_path)   # frees a pyplot figure; a Figure made outside pyplot is left as it is
        return target

    def label(self, name: str) -> str:
        """The figure label of ``name`` on this page, ``fig-<page>-<name>``."""
        return f"fig-{_slug(self.page)}-{_slug(name)}"

    def figure_markdown(self, fig_or_path, caption: str, name: str | None = None, width: str | None = None) -> str:
        """Save a figure beside the page and return its MyST ``{figure}`` block."""
        self._n += 1
        name = name or f"figure-{self._n}"
        target = self._figure_file(fig_or_path, name)
        rel = f"{self.files.name}/{target.name}"
        opts = f":name: {self.label(name)}\n" + (f":width: {width}\n" if width else "")
        caption = caption.replace("\n", " ").strip() or name
        return f"```{{figure}} {rel}\n{opts}\n{caption}\n```\n"

    def figure(self, fig_or_path, caption: str, name: str | None = None, width: str | None = None) -> str:
        """Show a numbered figure with ``caption`` (a Matplotlib figure or a PNG file);
        return its label for ``{numref}`` references."""
        from IPython.display import Markdown, display

        md = self.figure_markdown(fig_or_path, caption, name, width)
        display(Markdown(md))
        return self.label(name or f"figure-{self._n}")

    def gallery(self, items: list[tuple], columns: int = 3, *, empty: str | None = None) -> None:
        """Figures side by side: ``items`` of (figure or path, caption, name); without items,
        ``empty`` (Markdown) is shown, or nothing."""
        from IPython.display import Markdown, display

        if not items:
            self.markdown(empty or "")
            return
        cells = []
        for item in items:
            fig, caption, name = (list(item) + [None])[:3]
            cells.append(":::{grid-item}\n" + self.figure_markdown(fig, caption, name) + ":::\n")
        display(Markdown(f"::::{{grid}} 1 2 {columns} {columns}\n" + "".join(cells) + "::::\n"))

    # -- glued values ------------------------------------------------------------------
    @staticmethod
    def glue(**values) -> None:
        """Glue values for the page's Markdown cells, which paste them with
        ``{glue:text}`name``` (or ``{glue:text}`name:.1%``` with a format).

        NumPy scalars are glued as the Python numbers they hold, so that a format applies.
        Nothing is shown where the cell runs.
        """
        from myst_nb import glue

        for name, value in values.items():
            glue(name, plain(value), display=False)

    @staticmethod
    def glue_markdown(**texts: str) -> None:
        """Glue Markdown texts, pasted with ``{glue:md}`name:myst``` in a line or the
        ``{glue:md}`` directive (option ``:format: myst``) as a block."""
        from IPython.display import Markdown
        from myst_nb import glue

        for name, text in texts.items():
            glue(name, Markdown(text), display=False)

    # -- tables and text ---------------------------------------------------------------
    @staticmethod
    def markdown(text: str) -> None:
        """Show Markdown text (nothing when ``text`` is empty)."""
        from IPython.display import Markdown, display

        if text:
            display(Markdown(text))

    @staticmethod
    def yaml(values: dict) -> None:
        """Show ``values`` as a YAML code block, in their order."""
        import yaml

        Page.markdown("```yaml\n" + yaml.safe_dump(values, sort_keys=False) + "```")

    @staticmethod
    def table(frame, *, caption: str | None = None, sortable: bool = True, floatfmt: str = "{:.3f}",
              max_rows: int | None = None, columns: list | None = None, empty: str | None = None) -> None:
        """An HTML table; with ``sortable`` a click on a column header sorts by it.

        Parameters
        ----------
        frame : DataFrame or rows
            The table, or rows for a DataFrame with ``columns``.
        caption : str, optional
        sortable : bool
        floatfmt : str
            How floats are written.
        max_rows : int, optional
            Show the first rows only.
        columns : list, optional
            The column names of ``frame`` given as rows.
        empty : str, optional
            Shown (as Markdown) instead of a table without rows; ``""`` shows nothing.
        """
        from IPython.display import HTML, display

        import pandas as pd

        frame = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame, columns=columns)
        if empty is not None and not len(frame):
            Page.markdown(empty)
            return
        if max_rows is not None and len(frame) > max_rows:
            frame = frame.head(max_rows)
        cols = list(frame.columns)
        head = "".join(
            (f'<th onclick="xaispecSort(this)" title="click to sort" style="cursor:pointer">{html.escape(str(c))} &#8597;</th>'
             if sortable else f"<th>{html.escape(str(c))}</th>") for c in cols)
        body = []
        for row in frame.astype(object).itertuples(index=False, name=None):  # keeps ints ints
            tds = []
            for v in row:
                text = "" if v is None or (isinstance(v, float) and v != v) else \
                    floatfmt.format(v) if isinstance(v, float) else str(v)
                tds.append(f'<td data-value="{html.escape(str(v), quote=True)}">{html.escape(text)}</td>')
            body.append("<tr>" + "".join(tds) + "</tr>")
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        out = (f'<table class="table xaispec-table{" sortable" if sortable else ""}">{cap}<thead><tr>{head}</tr></thead>'
               f"<tbody>{''.join(body)}</tbody></table>")
        display(HTML((SORT_JS if sortable else "") + f'<div style="overflow-x:auto">{out}</div>'))

    # -- audio -------------------------------------------------------------------------
    @staticmethod
    def audio(data, rate: int | None = None, *, label: str | None = None) -> None:
        """An audio player with the WAV embedded (``data``: a WAV path or samples with ``rate``)."""
        from IPython.display import HTML, display

        display(HTML(audio_html(data, rate, label)))


def plain(value):
    """``value`` as a plain Python object: a NumPy scalar becomes the int, float or bool it holds."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return item()
    return value


def settings_table(settings: dict, *, columns=("setting", "value"), value=str):
    """A two-column table of a mapping, one row per key in order.

    Parameters
    ----------
    settings : dict
    columns : pair of str
        The column names.
    value : callable
        Writes each value (``str``; ``json.dumps`` keeps the JSON spelling).

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd

    return pd.DataFrame({columns[0]: list(settings), columns[1]: [value(v) for v in settings.values()]},
                        columns=list(columns))


def audio_html(data, rate: int | None = None, label: str | None = None) -> str:
    """The HTML of an embedded audio player (for building tables of players).

    Parameters
    ----------
    data : path or array
        A WAV file, or samples played at ``rate``.
    rate : int, optional
    label : str, optional
        A small title above the player.
    """
    from IPython.display import Audio

    player = Audio(filename=str(data)) if isinstance(data, (str, os.PathLike)) else Audio(data=data, rate=rate)
    title = f"<div><small>{html.escape(label)}</small></div>" if label else ""
    return f'<div class="xaispec-audio">{title}{player._repr_html_()}</div>'


def wav_data_uri(path: str | os.PathLike) -> str:
    """A WAV file as a ``data:audio/wav;base64,...`` URI."""
    return "data:audio/wav;base64," + base64.b64encode(Path(path).read_bytes()).decode()
