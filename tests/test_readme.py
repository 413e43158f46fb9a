"""Every Python snippet of the README and the docs runs as printed, and prints what they show.

The README's ```python blocks run in order in one namespace, as a reader
pasting them one after the other into one session would (later snippets use
the ``X``, ``pipe`` or ``detector`` of earlier ones), in a temporary working
folder (the saving snippet writes a file). A block preceded by the line
``<!-- test_readme: skip, REASON -->`` is skipped, with that reason.

The ``.. code-block:: python`` snippets of the rst pages in ``DOCS`` run too:
one identical to a README snippet ran with the README's; the others run after
the README's, in its namespace. There, an rst comment
``.. test_readme: skip, REASON`` just before the directive skips a snippet.

**Outputs.** A snippet's output is shown in a ```text block right after it
(only blank lines between; in rst, a ``.. code-block:: text`` directive). What
the snippet prints must be that block, character for character (trailing
spaces aside): no output on these pages is pasted by hand. A snippet that
prints and shows no output block fails too. After a change that moves them,
rewrite the shown outputs with what the code prints now, and review the diff::

    SKAE_WRITE_DOC_OUTPUTS=1 python -m pytest tests/test_readme.py

A script's output shown in the README (the demo's) follows the comment
``<!-- test_readme: output of SCRIPT, fit times aside -->``: the test runs the
script and compares every column but the fit times.

The figures are seeded and bit-for-bit reproducible on CPU whatever the
thread settings (``tests/test_reproducibility.py``); another kind of CPU or
other versions of TensorFlow or NumPy may move the last digits printed.
"""

import contextlib
import io
import os
import re
import runpy
import textwrap
from pathlib import Path

import pytest

# The snippets build on each other (names, files): under pytest-xdist they
# all run in one process, in order (--dist loadgroup, pyproject.toml).
pytestmark = pytest.mark.xdist_group("readme_session")

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = [ROOT / "docs" / name for name in ("install.rst", "user_guide.rst", "distributed.rst")]
WRITE = os.environ.get("SKAE_WRITE_DOC_OUTPUTS") == "1"

_MARKDOWN_BLOCK = re.compile(
    r"(?:^<!-- test_readme: skip, (?P<reason>.*?) -->\n)?^```python\n(?P<code>.*?)^```\n"
    r"(?P<shown>\n*^```text\n(?P<output>.*?)^```\n)?",
    re.MULTILINE | re.DOTALL,
)
# An rst code block: the directive, its options, a blank line, then indented lines.
_RST_BODY = r"(?:[ \t]+:.*\n)*\n(?P<{name}>(?:(?:[ \t]+.*)?\n)+)"
_RST_BLOCK = re.compile(
    r"(?:^\.\. test_readme: skip, (?P<reason>.*)\n\n)?"
    r"^\.\. code-block:: python\n"
    + _RST_BODY.format(name="code")
    + r"(?P<shown>^\.\. code-block:: text\n"
    + _RST_BODY.format(name="output")
    + ")?",
    re.MULTILINE,
)


def _line(text, position):
    return text.count("\n", 0, position) + 1


class _Block:
    """One snippet: where it is, its code, its shown output (or None), a skip reason."""

    def __init__(self, path, match, rst):
        text = match.string
        self.path = path
        self.line = _line(text, match.start("code"))
        self.reason = match["reason"]
        self.rst = rst
        self.indent = ""
        if rst:
            self.indent = re.match(r"[ \t]*", match["code"]).group()
            self.code = textwrap.dedent(match["code"]).strip("\n") + "\n"
            self.output = None
            if match["output"] is not None:
                self.output = textwrap.dedent(match["output"]).strip("\n") + "\n"
        else:
            self.code = match["code"]
            self.output = match["output"]
        self.source = match.group(0)  # the code and its output block, as written
        end = match.start("shown") if match["shown"] is not None else match.end()
        self.code_source = text[match.start() : end]

    @property
    def name(self):
        return f"{self.path.name}, line {self.line}"

    def rendered(self, output):
        """The block as it would be written with ``output`` shown after the code."""
        output = output.rstrip("\n") + "\n"
        if self.rst:
            body = textwrap.indent(output, self.indent or "   ")
            return f"{self.code_source.rstrip()}\n\n.. code-block:: text\n\n{body}\n"
        return f"{self.code_source}\n```text\n{output}```\n"

    def check_output(self, printed):
        """Fail unless ``printed`` is the output shown (or rewrite it, when asked)."""
        printed = "\n".join(line.rstrip() for line in printed.rstrip("\n").split("\n"))
        printed = printed + "\n" if printed else None
        shown = self.output
        if shown is not None:
            shown = "\n".join(line.rstrip() for line in shown.rstrip("\n").split("\n")) + "\n"
        if printed == shown:
            return
        if WRITE and printed is not None:
            text = self.path.read_text(encoding="utf-8")
            assert text.count(self.source) == 1, f"{self.name}: block not found once"
            self.path.write_text(text.replace(self.source, self.rendered(printed)), "utf-8")
            return
        if shown is None:
            pytest.fail(f"{self.name} prints output its page does not show:\n{printed}")
        pytest.fail(
            f"{self.name}: the page shows\n{shown}\nbut the snippet prints\n{printed}\n"
            "(SKAE_WRITE_DOC_OUTPUTS=1 rewrites the page's output; review the diff)"
        )


def _markdown_blocks(path):
    text = path.read_text(encoding="utf-8")
    return [_Block(path, match, rst=False) for match in _MARKDOWN_BLOCK.finditer(text)]


def _rst_blocks(path):
    text = path.read_text(encoding="utf-8")
    return [_Block(path, match, rst=True) for match in _RST_BLOCK.finditer(text)]


README_BLOCKS = _markdown_blocks(README)
DOC_BLOCKS = [block for path in DOCS for block in _rst_blocks(path)]


class _Session:
    """The README's namespace, and which of its blocks have run (or failed)."""

    def __init__(self, folder):
        self.folder = folder
        self.namespace = {"__name__": "__main__"}
        self.next = 0  # index of the first README block not run yet
        self.failed = None
        self.printed = {}  # README block index -> what it printed

    def run(self, block):
        """Run ``block``'s code in the namespace; return what it printed."""
        previous = os.getcwd()
        os.chdir(self.folder)
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                exec(compile(block.code, block.name, "exec"), self.namespace)
        finally:
            os.chdir(previous)
        return printed.getvalue()

    def run_readme_through(self, index):
        """Run README blocks up to ``index`` that have not run yet, in order."""
        while self.next <= index:
            if self.failed is not None:
                pytest.fail(f"needs README line {self.failed}, which failed")
            block = README_BLOCKS[self.next]
            self.next += 1
            if block.reason is None:
                try:
                    self.printed[self.next - 1] = self.run(block)
                except BaseException:
                    self.failed = block.line
                    raise


# A ```text block after this comment shows what a script prints: the test runs
# the script and compares, every column but the last two (fit times) of each line.
_SCRIPT_OUTPUT = re.compile(
    r"^<!-- test_readme: output of (?P<script>\S+), fit times aside -->\n"
    r"```text\n(?P<output>.*?)^```\n",
    re.MULTILINE | re.DOTALL,
)
SCRIPT_OUTPUTS = [
    (match["script"], match["output"], _line(match.string, match.start("output")))
    for match in _SCRIPT_OUTPUT.finditer(README.read_text(encoding="utf-8"))
]


def _without_times(output):
    lines = output.strip("\n").split("\n")
    return [lines[0].split()] + [line.split()[:-2] for line in lines[1:]]


@pytest.mark.parametrize(
    ("script", "shown", "line"), SCRIPT_OUTPUTS, ids=[script for script, _, _ in SCRIPT_OUTPUTS]
)
def test_readme_shows_what_a_script_prints(script, shown, line):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        runpy.run_path(str(ROOT / script), run_name="__main__")
    assert _without_times(printed.getvalue()) == _without_times(shown), (
        f"README line {line} shows\n{shown}\nbut {script} prints\n{printed.getvalue()}"
    )


def test_the_demo_output_is_checked():
    assert [script for script, _, _ in SCRIPT_OUTPUTS] == ["examples/compare_pca_digits.py"]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    return _Session(tmp_path_factory.mktemp("readme"))


def test_readme_has_snippets():
    assert len(README_BLOCKS) >= 5
    assert all(block.reason is None or block.reason.strip() for block in README_BLOCKS)


@pytest.mark.parametrize(
    "index", range(len(README_BLOCKS)), ids=[f"line{block.line}" for block in README_BLOCKS]
)
def test_readme_snippet_runs(session, index):
    block = README_BLOCKS[index]
    session.run_readme_through(index)
    if block.reason is not None:
        pytest.skip(block.reason)
    block.check_output(session.printed[index])


@pytest.mark.parametrize(
    "block", DOC_BLOCKS, ids=[f"{block.path.name}-line{block.line}" for block in DOC_BLOCKS]
)
def test_docs_snippet_runs(session, block):
    if block.reason is not None:
        pytest.skip(block.reason)
    session.run_readme_through(len(README_BLOCKS) - 1)
    same = [i for i, readme in enumerate(README_BLOCKS) if readme.code == block.code]
    if same:  # the README's own snippet, run there: it must show the same output
        block.check_output(session.printed.get(same[0], ""))
        return
    if "skae.plotting" not in block.code:
        block.check_output(session.run(block))
        return
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        block.check_output(session.run(block))
    finally:
        plt.close("all")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("```python\nprint(1)\n```\n\n```text\n1\n```\n", "1\n"),
        ("```python\nprint(1)\n```\n", None),
    ],
)
def test_markdown_output_blocks_are_found(text, shown):
    [match] = _MARKDOWN_BLOCK.finditer(text)
    assert match["output"] == shown


def test_rst_output_blocks_are_found():
    text = ".. code-block:: python\n\n   print(1)\n\n.. code-block:: text\n\n   1\n\nNext.\n"
    [match] = _RST_BLOCK.finditer(text)
    block = _Block(Path("page.rst"), match, rst=True)
    assert (block.code, block.output) == ("print(1)\n", "1\n")
    assert text.replace(block.source, block.rendered("2\n")) == text.replace("   1", "   2")


def test_a_wrong_output_fails():
    [match] = _MARKDOWN_BLOCK.finditer("```python\nprint(1)\n```\n\n```text\n2\n```\n")
    block = _Block(Path("README.md"), match, rst=False)
    if WRITE:
        pytest.skip("SKAE_WRITE_DOC_OUTPUTS=1 rewrites instead of failing")
    try:
        block.check_output("1\n")
    except pytest.fail.Exception as failure:  # pytest.raises does not catch a Failed
        assert "the page shows" in str(failure)
    else:
        raise AssertionError("a wrong output passed")
    [match] = _MARKDOWN_BLOCK.finditer("```python\nprint(1)\n```\n\n```text\n1\n```\n")
    _Block(Path("README.md"), match, rst=False).check_output("1 \n\n")  # trailing spaces aside
