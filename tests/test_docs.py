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
]
PAGES = ["index", "install", "user_guide", "api", "auto_examples/index"]


# TensorFlow's own log lines (absl's I/W/E0000 prefix) are not the build's warnings.
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
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    lines = [line for line in result.stderr.splitlines() if not _TF_LOG.search(line)]
    assert result.returncode == 0, "sphinx-build failed:\n" + "\n".join(lines[-40:])
    warnings = [line for line in lines if "WARNING" in line or "ERROR" in line]
    return out, warnings


@pytest.fixture(scope="module")
def html(build):
    return build[0]


def test_the_build_has_no_warnings(build):
    _, warnings = build
    assert warnings == [], "\n".join(warnings)


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
