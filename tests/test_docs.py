"""The documentation site builds, warning-free, with every API page in it.

The gallery's examples are not run here (``plot_gallery=0``): their pages are
built from the code alone, which keeps the test under a minute. Each example
is a script that can be run on its own.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="building the docs needs sphinx: pip install -e '.[docs]'")

ROOT = Path(__file__).resolve().parents[1]

API_PAGES = [
    "skae.AutoencoderTransformer",
    "skae.DenoisingAutoencoder",
    "skae.AutoencoderOutlierDetector",
    "skae.VariationalAutoencoder",
    "skae.BaseAutoencoder",
    "skae.plotting.plot_reconstructions",
    "skae.plotting.plot_latent_space",
    "skae.plotting.plot_latent_grid",
    "skae.plotting.plot_code",
    "skae.plotting.plot_history",
    "skae.plotting.plot_explanation",
]
PAGES = ["index", "install", "user_guide", "api", "auto_examples/index"]


# TensorFlow's start-up log lines (absl's I/W/E0000 prefix), which the build must not print.
_TF_LOG = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog")


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """Build the docs from a copy of docs/ and examples/, into a temporary folder.

    The copy keeps what the build writes next to its sources (autosummary's
    generated/, sphinx-gallery's auto_examples/) out of the checkout. Returns
    the output folder and the build's warnings and errors: the pages are
    checked even when a docstring warns, and the warnings by their own test.
    """
    tmp = tmp_path_factory.mktemp("docs")
    leftovers = shutil.ignore_patterns("_build", "generated", "auto_examples")
    shutil.copytree(ROOT / "docs", tmp / "docs", ignore=leftovers)
    shutil.copytree(ROOT / "examples", tmp / "examples")
    out = tmp / "html"
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "-b",
        "html",
        "-q",
        "-D",
        "plot_gallery=0",
        str(tmp / "docs"),
        str(out),
    ]
    # The build's own environment: skae's filter of TensorFlow's start-up notes
    # is off where TF_CPP_MIN_LOG_LEVEL is set, so the test does not set it.
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    lines = result.stderr.splitlines()
    assert result.returncode == 0, "sphinx-build failed:\n" + "\n".join(lines[-40:])
    return out, lines


def _warnings(lines):
    return [line for line in lines if "WARNING" in line or "ERROR" in line]


@pytest.fixture(scope="module")
def html(build):
    return build[0]


def test_the_build_has_no_warnings(build):
    warnings = _warnings(build[1])
    assert warnings == [], "\n".join(warnings)


def test_the_build_prints_no_tensorflow_start_up_lines(build):
    noise = [line for line in build[1] if _TF_LOG.search(line)]
    assert noise == [], "\n".join(noise)


def test_the_api_page_documents_each_function_once(html):
    """The API page links to each function's page; it does not print its docs too."""
    text = (html / "api.html").read_text(encoding="utf-8")
    assert '<dl class="py ' not in text  # an object's documentation, printed in full
    for name in API_PAGES:
        assert f"generated/{name}.html" in text, name


@pytest.mark.parametrize("page", PAGES)
def test_site_pages_exist(html, page):
    assert (html / f"{page}.html").is_file()


@pytest.mark.parametrize("name", API_PAGES)
def test_api_page_for_each_public_name(html, name):
    page = html / "generated" / f"{name}.html"
    assert page.is_file()
    assert f'id="{name}"' in page.read_text(encoding="utf-8")


def test_api_groups_by_role(html):
    text = (html / "api.html").read_text(encoding="utf-8")
    headings = ["Transformers", "Detectors", "Generative", "Plotting", "Base"]
    positions = [text.find(f">{heading}<") for heading in headings]
    assert -1 not in positions and positions == sorted(positions)


def test_every_plot_example_has_a_gallery_page(html):
    for script in sorted((ROOT / "examples").glob("plot_*.py")):
        assert (html / "auto_examples" / f"{script.stem}.html").is_file(), script.name


_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?:x|\b)")


def _markdown_tables(text):
    """Each markdown table of ``text``: the numbers of its body, in order."""
    tables, rows = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            tables.append(tuple(_NUMBER.findall("\n".join(rows[2:]))))
            rows = []
    return tables


def _rst_tables(text):
    """Each csv-table or list-table of ``text``: the numbers of its body, in order."""
    tables = []
    for match in re.finditer(
        r"^\.\. (?:csv|list)-table::\n(?:   :.*\n)*\n((?:(?:   .*)?\n)+)", text, re.MULTILINE
    ):
        body = match[1].split("\n")
        if "csv-table" in match[0]:
            body = body[1:]  # the header row
        else:
            body = body[[i for i, line in enumerate(body) if line.startswith("   * -")][1] :]
        tables.append(tuple(_NUMBER.findall("\n".join(body))))
    return tables


@pytest.mark.parametrize("page", ["user_guide.rst", "distributed.rst"])
def test_the_docs_tables_are_the_readmes(page):
    """A measured table shown in the docs is the README's, number for number."""
    readme = set(_markdown_tables((ROOT / "README.md").read_text(encoding="utf-8")))
    tables = _rst_tables((ROOT / "docs" / page).read_text(encoding="utf-8"))
    assert tables
    for table in tables:
        if table:
            assert table in readme, f"{page}: a table not in the README: {table[:12]}"
