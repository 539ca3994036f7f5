"""The README's configuration table is the one the code prints."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from app.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_readme_lists_every_setting_as_the_code_describes_it():
    printed = CliRunner().invoke(main, ["config"]).output.strip().splitlines()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [row for row in printed if row not in readme]
    assert not missing, "README configuration table is out of date:\n" + "\n".join(missing)
