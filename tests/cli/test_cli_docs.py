"""``docs/cli.rst`` shows what the command line prints today (issue 26).

The page includes ``docs/generated_cli/*.txt``, written by
``docs/_generate_cli.py``; this test reruns the generator in a temporary
folder and compares. Figures are compared to 4 significant digits, so that
a last-bit difference of another CPU's arithmetic passes while a changed
threshold, score or message fails. After a change, rerun
``python docs/_generate_cli.py``.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "docs" / "generated_cli"
NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?")


def rounded(text):
    """``text`` with every decimal number written to 4 significant digits."""
    return NUMBER.sub(lambda match: f"{float(match.group()):.4g}", text)


def test_the_generated_pages_match_the_code(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "_generate_cli.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    names = sorted(path.name for path in GENERATED.glob("*.txt"))
    assert names == sorted(path.name for path in tmp_path.glob("*.txt"))
    stale = [
        name
        for name in names
        if rounded((GENERATED / name).read_text()) != rounded((tmp_path / name).read_text())
    ]
    assert not stale, f"rerun: python docs/_generate_cli.py (stale: {stale})"


def test_the_page_includes_every_generated_file():
    page = (ROOT / "docs" / "cli.rst").read_text()
    for path in GENERATED.glob("*.txt"):
        assert f"literalinclude:: generated_cli/{path.name}" in page, path.name


def test_rounding_keeps_differences_that_matter():
    assert rounded("threshold -6.87213, 0.123456789") == rounded("threshold -6.87209, 0.1234568")
    assert rounded("threshold -6.872") != rounded("threshold -3.632")
