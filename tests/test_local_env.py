"""manage.py in a plain shell: `make run`'s var/local.env, and one clear message without it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.processes import ROOT, manage_py

SHOW_SETTINGS = (
    "from django.conf import settings as s; "
    "print(s.DEBUG, s.WEBHOOK_ALLOW_PRIVATE_URLS, s.DATABASES['default']['ENGINE'])"
)


def plain_shell(var_dir: Path, **extra: str) -> dict[str, str]:
    """What a new terminal has: no DEBUG, no SECRET_KEY, no database or broker settings."""
    return {"PATH": os.environ["PATH"], "HOME": str(var_dir), "VAR_DIR": str(var_dir), **extra}


def manage(var_dir: Path, *arguments: str, **extra: str) -> subprocess.CompletedProcess:
    return manage_py(*arguments, env=plain_shell(var_dir, **extra), timeout=120)


def write_local_env(var_dir: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "backoffice.local_env"],
        cwd=ROOT,
        env=plain_shell(var_dir),
        check=True,
        capture_output=True,
    )


def test_without_make_run_manage_py_says_what_to_do_in_one_message(tmp_path):
    result = manage(tmp_path, "create_channel", "popup", "--kind", "pos")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "manage.py: SECRET_KEY must be set when DEBUG is off. On a development machine, run "
        "`make run` once: it writes var/local.env (DEBUG=1), which manage.py reads."
    ]  # no KeyError for the command name, no traceback
    assert not (tmp_path / "backoffice.sqlite3").exists()


def test_after_make_run_wrote_local_env_the_commands_work_in_a_plain_shell(tmp_path):
    write_local_env(tmp_path)
    assert manage(tmp_path, "migrate", "--noinput", "-v", "0").returncode == 0

    channel = manage(tmp_path, "create_channel", "popup", "--kind", "pos", "--currency", "USD")
    key = manage(tmp_path, "create_api_key", "--kind", "publishable", "--channel", "popup")
    shown = manage(tmp_path, "shell", "-v", "0", "-c", SHOW_SETTINGS)

    assert (channel.returncode, channel.stdout.splitlines()[-1]) == (0, "popup"), channel.stderr
    assert key.returncode == 0 and key.stdout.splitlines()[-1].startswith("pk_"), key.stderr
    assert shown.stdout.split() == ["True", "True", "django.db.backends.sqlite3"]


def test_the_environment_wins_and_a_secret_key_turns_the_file_off(tmp_path):
    write_local_env(tmp_path)

    unset_private = manage(
        tmp_path, "shell", "-v", "0", "-c", SHOW_SETTINGS, WEBHOOK_ALLOW_PRIVATE_URLS="0"
    )
    configured = manage(tmp_path, "shell", "-v", "0", "-c", SHOW_SETTINGS, SECRET_KEY="x" * 50)

    assert unset_private.stdout.split()[:2] == ["True", "False"]
    assert configured.stdout.split()[:2] == ["False", "False"], configured.stderr


def test_make_run_keeps_a_local_env_the_user_edited(tmp_path):
    (tmp_path / "local.env").write_text("DEBUG=1\n# mine\n")

    write_local_env(tmp_path)

    assert (tmp_path / "local.env").read_text() == "DEBUG=1\n# mine\n"
    assert manage(tmp_path, "shell", "-v", "0", "-c", SHOW_SETTINGS).stdout.split()[:2] == [
        "True",
        "False",
    ]
