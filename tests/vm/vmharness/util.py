"""Small helpers shared by the preparation steps: commands with context on failure,
atomic cache directories under a lock."""

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile

from .errors import PrereqError


def say(msg):
    """Progress line on stderr: stdout is kept for the PASS/FAIL report."""
    print(f"tests/vm: {msg}", file=sys.stderr, flush=True)


def need_tool(name, hint="scripts/install-deps vm"):
    """Path of a required host tool; a missing one is an error, never a skip."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        raise PrereqError(f"missing tool '{name}' (run: {hint})")
    return path


def run(cmd, cwd=None, env=None, what=None):
    """Run a command, return its stdout; raise PrereqError with its stderr on failure."""
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    except OSError as e:
        raise PrereqError(f"{what or cmd[0]}: cannot run {cmd[0]}: {e}") from e
    if proc.returncode != 0:
        err = (proc.stderr or proc.stdout).strip()
        raise PrereqError(f"{what or ' '.join(cmd)} failed (exit {proc.returncode}): {err}")
    return proc.stdout


@contextlib.contextmanager
def locked(path):
    """Exclusive flock on PATH: two test runs (two developers, CI) share one cache."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def building(final_dir):
    """Yield a scratch dir that becomes FINAL_DIR only if the block succeeds, so an
    interrupted preparation never leaves a half-built cache entry behind."""
    parent = os.path.dirname(final_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".build-", dir=parent)
    try:
        yield tmp
        if os.path.exists(final_dir):
            shutil.rmtree(final_dir)
        os.rename(tmp, final_dir)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
