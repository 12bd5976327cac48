"""Small helpers shared by the preparation steps: commands with context on failure,
atomic cache directories under a lock."""

import contextlib
import fcntl
import os
import shutil
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


@contextlib.contextmanager
def locked(path, waiting_msg):
    """Exclusive flock on PATH (two developers or CI share the cache and the logs)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"{waiting_msg}: waiting for {path}")
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
