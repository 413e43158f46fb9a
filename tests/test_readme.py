"""Every Python snippet of the README, and of the docs' quick start, runs as printed.

The README's ```python blocks run in order in one namespace, as a reader
pasting them one after the other into one session would (later snippets use
the ``X``, ``pipe`` or ``detector`` of earlier ones), in a temporary working
folder (the saving snippet writes a file). A block preceded by the line
``<!-- test_readme: skip, REASON -->`` is skipped, with that reason.

The ``.. code-block:: python`` snippets of ``docs/install.rst`` and
``docs/user_guide.rst`` run too: one identical to a README snippet ran with
the README's; the others run after the README's, in its namespace. There, an
rst comment ``.. test_readme: skip, REASON`` just before the directive skips
a snippet.
"""

import os
import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = [ROOT / "docs" / "install.rst", ROOT / "docs" / "user_guide.rst"]

_MARKDOWN_BLOCK = re.compile(
    r"(?:^<!-- test_readme: skip, (?P<reason>.*?) -->\n)?^```python\n(?P<code>.*?)^```",
    re.MULTILINE | re.DOTALL,
)
# An rst code block: the directive, its options, a blank line, then indented lines.
_RST_BLOCK = re.compile(
    r"(?:^\.\. test_readme: skip, (?P<reason>.*)\n\n)?"
    r"^\.\. code-block:: python\n(?:[ \t]+:.*\n)*\n(?P<code>(?:(?:[ \t]+.*)?\n)+)",
    re.MULTILINE,
)


def _line(text, position):
    return text.count("\n", 0, position) + 1


def _readme_blocks():
    text = README.read_text(encoding="utf-8")
    blocks = []
    for match in _MARKDOWN_BLOCK.finditer(text):
        line = _line(text, match.start("code"))
        blocks.append((line, match["code"], match["reason"]))
    return blocks


def _rst_blocks(path):
    text = path.read_text(encoding="utf-8")
    return [
        (
            _line(text, match.start("code")),
            textwrap.dedent(match["code"]).strip("\n") + "\n",
            match["reason"],
        )
        for match in _RST_BLOCK.finditer(text)
    ]


README_BLOCKS = _readme_blocks()
DOC_BLOCKS = [(path, *block) for path in DOCS for block in _rst_blocks(path)]


class _Session:
    """The README's namespace, and which of its blocks have run (or failed)."""

    def __init__(self, folder):
        self.folder = folder
        self.namespace = {"__name__": "__main__"}
        self.next = 0  # index of the first README block not run yet
        self.failed = None

    def run(self, code, name):
        previous = os.getcwd()
        os.chdir(self.folder)
        try:
            exec(compile(code, name, "exec"), self.namespace)
        finally:
            os.chdir(previous)

    def run_readme_through(self, index):
        """Run README blocks up to ``index`` that have not run yet, in order."""
        while self.next <= index:
            if self.failed is not None:
                pytest.fail(f"needs README line {self.failed}, which failed")
            line, code, reason = README_BLOCKS[self.next]
            self.next += 1
            if reason is None:
                try:
                    self.run(code, f"README.md, line {line}")
                except BaseException:
                    self.failed = line
                    raise


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    return _Session(tmp_path_factory.mktemp("readme"))


def test_readme_has_snippets():
    assert len(README_BLOCKS) >= 5
    assert all(reason is None or reason.strip() for _, _, reason in README_BLOCKS)


@pytest.mark.parametrize(
    "index", range(len(README_BLOCKS)), ids=[f"line{line}" for line, _, _ in README_BLOCKS]
)
def test_readme_snippet_runs(session, index):
    _, _, reason = README_BLOCKS[index]
    session.run_readme_through(index)
    if reason is not None:
        pytest.skip(reason)


@pytest.mark.parametrize(
    ("path", "line", "code", "reason"),
    DOC_BLOCKS,
    ids=[f"{path.name}-line{line}" for path, line, _, _ in DOC_BLOCKS],
)
def test_docs_snippet_runs(session, path, line, code, reason):
    if reason is not None:
        pytest.skip(reason)
    if code in {readme_code for _, readme_code, _ in README_BLOCKS}:
        return  # the README's own snippet, run there
    session.run_readme_through(len(README_BLOCKS) - 1)
    if "skae.plotting" not in code:
        session.run(code, f"{path.name}, line {line}")
        return
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        session.run(code, f"{path.name}, line {line}")
    finally:
        plt.close("all")
