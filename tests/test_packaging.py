"""A non-editable install works: the wheel carries the catalogs' sources, the bot compiles them into a cache
folder (the installed package may be read-only) and starts, in a fresh virtual environment."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.conftest import starts_processes

pytestmark = starts_processes  # builds a wheel and starts it
ROOT = Path(__file__).resolve().parent.parent
CHECK = """
import bot, pathlib
from bot.i18n import create_i18n
i18n = create_i18n()
with i18n.context(), i18n.use_locale("lv"):
    print(i18n.gettext("Main menu"))
with i18n.context(), i18n.use_locale("ru"):
    print(i18n.gettext("Main menu"))
print(pathlib.Path(bot.__file__).resolve())
"""


def _run(*command: str | Path, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_the_wheel_installs_into_a_fresh_environment_and_starts(tmp_path):
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist",
         ROOT)
    wheel = next((tmp_path / "dist").glob("manabalss_bot-*.whl"))
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    # The dependencies come from this environment (no download); the bot itself only from the wheel.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", site, wheel)
    for path in [site / "bot", site / "locales", *(site / "locales").rglob("*")]:  # a read-only install
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": ""}
    result = _run(python, "-c", CHECK, cwd=workdir, env=env)
    latvian, russian, location = result.stdout.strip().splitlines()
    assert (latvian, russian) == ("Galvenā izvēlne", "Главное меню")
    assert Path(location).is_relative_to(site), "the installed package, not the source tree"
    assert list((tmp_path / "cache").rglob("messages.mo")), "compiled into the cache folder"
    assert not list((site / "locales").rglob("*.mo")), "nothing written into the package"
    migrated = _run(python, "-m", "bot", "migrate", cwd=workdir,
                    env={**env, "DATABASE_URL": f"sqlite:///{workdir / 'manabalss.db'}"})
    assert "up to date" in migrated.stdout
