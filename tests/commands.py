"""`inspection-week` commands run in this process with Typer's CliRunner: the same Typer app the
console script runs, seen the way a finished process is seen (exit code, stdout, stderr), in a
working directory of the test's own and with no setting from the developer's environment.

A process costs seconds to start (Python, then every import); a command run here costs
milliseconds. What only a real process proves (the console script, `serve`, a fresh `migrate`)
keeps a few subprocess tests in tests/test_cli.py."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, overload

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from service import cli
from service.config import Settings

SETTING_NAMES = {name.upper() for name in Settings.model_fields}


@contextlib.contextmanager
def engines_disposed() -> Iterator[None]:
    """Dispose of every engine a command made, as the end of its process would."""
    made: list[Engine] = []
    real = cli.make_engine

    def make_engine(url: str) -> Engine:
        engine = real(url)
        made.append(engine)
        return engine

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "make_engine", make_engine)
        try:
            yield
        finally:
            for engine in made:
                engine.dispose()


@overload
def run_command(
    *args: str,
    env: dict[str, str],
    cwd: Path,
    stdin: str | None = ...,
    text: Literal[True] = ...,
) -> subprocess.CompletedProcess[str]: ...


@overload
def run_command(
    *args: str,
    env: dict[str, str],
    cwd: Path,
    stdin: str | None = ...,
    text: Literal[False],
) -> subprocess.CompletedProcess[bytes]: ...


def run_command(
    *args: str,
    env: dict[str, str],
    cwd: Path,
    stdin: str | None = None,
    text: bool = True,
) -> subprocess.CompletedProcess[str] | subprocess.CompletedProcess[bytes]:
    """`inspection-week *args` with these settings (`env`, e.g. DATABASE_URL) and no others, in
    `cwd`, so that no developer's `.env` file is read. An exception the command lets out is
    raised here: a real process would have ended in a traceback, which no test accepts."""
    unset: dict[str, str | None] = {
        name: None for name in os.environ if name.upper() in SETTING_NAMES
    }
    with contextlib.chdir(cwd), engines_disposed():
        result = CliRunner().invoke(cli.app, list(args), input=stdin, env={**unset, **env})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    out, err = result.stdout_bytes, result.stderr_bytes
    argv = ["inspection-week", *args]
    if text:
        return subprocess.CompletedProcess(argv, result.exit_code, out.decode(), err.decode())
    return subprocess.CompletedProcess(argv, result.exit_code, out, err)
