"""scripts/install-system-deps.sh, the first step of `make test` and CI: as a user who is not root
it installs nothing and names what is missing and the one command that installs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "install-system-deps.sh"
# What the script itself runs; everything else it looks for is left out of PATH.
BASICS = ("bash", "env", "id", "uname", "dirname", "sha256sum", "cat", "rm", "mktemp")


@pytest.fixture(name="tmp")
def fx_tmp():
    # Not pytest's tmp_path: its parents are private to root, and the script runs as nobody.
    path = Path(tempfile.mkdtemp(prefix="kramar-deps-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(name="bare_path")
def fx_bare_path(tmp):
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    for name in BASICS:
        found = shutil.which(name)
        assert found, name
        (bin_dir / name).symlink_to(found)
    # A fake apt-get that leaves a mark: the script must never reach it here.
    marker = tmp / "apt-get-ran"
    (bin_dir / "apt-get").write_text(f"#!/bin/sh\ntouch {marker}\n")
    (bin_dir / "apt-get").chmod(0o755)
    return bin_dir, marker


def run_as_nobody(bin_dir: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": str(bin_dir),
        "HOME": str(tmp),
        "HELM_INSTALL_DIR": str(tmp / "no-helm"),
        "KRAMAR_HELM4_DIR": str(tmp / "no-helm4"),
    }
    # A copy: the checkout may sit where nobody cannot read.
    scripts = tmp / "repo" / "scripts"
    scripts.mkdir(parents=True)
    for script in SCRIPT.parent.glob("install-*.sh"):
        shutil.copy(script, scripts / script.name)
    command = ["bash", str(scripts / SCRIPT.name)]
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("runuser is needed to run the script as another user")
        command = [runuser, "-u", "nobody", "--", *command]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_without_root_it_names_what_is_missing_and_installs_nothing(bare_path, tmp):
    bin_dir, marker = bare_path

    done = run_as_nobody(bin_dir, tmp)

    assert done.returncode == 1
    for package in (
        "redis-server",
        "prometheus",
        "prometheus-alertmanager",
        "wrk",
        "chromium",
        "chromium-driver",
        "npm",
    ):
        assert package in done.stderr
    assert "helm 3" in done.stderr and "Helm 4" in done.stderr
    assert "install them with: sudo make system-deps" in done.stderr
    assert not marker.exists()


def test_with_everything_present_it_does_nothing_and_succeeds():
    done = subprocess.run(
        ["bash", str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
