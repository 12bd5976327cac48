"""Debian packages by name through apt's own clients: the current candidate of a
package, and `apt-get download` of exact versions (never installed: an arm64 kernel or
an amd64 linux-image with its initramfs-tools/systemd dependencies do not belong on the
build machine)."""

import os
import re
import subprocess

from .errors import PrereqError
from .util import need_tool, say


_shown = {}  # spec -> {field: value} of its candidate version


def prefetch(specs):
    """Read the candidate stanzas of SPECS in one apt-cache call: on machines whose apt
    keeps no binary cache (Debian's container images) every call costs ~1.5 s."""
    todo = [s for s in specs if s not in _shown]
    if not todo:
        return
    need_tool("apt-cache")
    proc = subprocess.run(["apt-cache", "show", "--no-all-versions"] + todo,
                          capture_output=True, text=True)
    for stanza in proc.stdout.split("\n\n"):
        fields = dict(re.findall(r"^([\w-]+): (.*)$", stanza, re.M))
        if "Package" not in fields:
            continue
        for spec in todo:
            name, _, arch = spec.partition(":")
            if fields["Package"] == name and arch in ("", fields.get("Architecture")):
                _shown.setdefault(spec, fields)


def show_field(spec, field):
    """FIELD of the candidate version of package SPEC, or PrereqError."""
    prefetch([spec])
    value = _shown.get(spec, {}).get(field)
    if value is None:
        raise PrereqError(
            f"apt knows no package {spec} (no {field}); run scripts/install-deps vm "
            "(it enables arm64) and apt-get update")
    return value.strip()


def candidate(spec):
    return show_field(spec, "Version")


def image_of(meta_spec):
    """(package, version) of the kernel image a meta package (linux-image-amd64)
    depends on: the ABI version is read from the archive, never hardcoded."""
    depends = show_field(meta_spec, "Depends")
    m = re.match(r"(linux-image-[^\s(,]+)\s*\(=\s*([^)\s]+)\)", depends)
    if m is None:
        raise PrereqError(f"cannot read the kernel image from {meta_spec}'s Depends: {depends}")
    return m.group(1), m.group(2)


class DownloadFailed(PrereqError):
    """apt-get download failed: often a stale package list naming a version the archive
    has dropped (Debian removes old kernel ABIs)."""


def download(specs, dest):
    """`apt-get download` SPECS (pkg[:arch]=version) into DEST; returns the .deb paths."""
    need_tool("apt-get")
    os.makedirs(dest, exist_ok=True)
    proc = subprocess.run(["apt-get", "download", "-q"] + list(specs), cwd=dest,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise DownloadFailed(f"apt-get download {' '.join(specs)} failed: "
                             f"{proc.stderr.strip()}")
    debs = [os.path.join(dest, f) for f in sorted(os.listdir(dest)) if f.endswith(".deb")]
    if len(debs) != len(specs):
        raise DownloadFailed(f"apt-get download {' '.join(specs)} left {debs}")
    return debs


def with_fresh_lists(fn):
    """Run FN (which resolves versions, then downloads them); if a download fails,
    refresh the package lists once (root only) and run FN again from the resolution."""
    try:
        return fn()
    except DownloadFailed as e:
        if os.geteuid() != 0:
            raise
        say(f"{e}; running apt-get update and retrying")
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
        _shown.clear()
        return fn()


def extract(deb, root):
    need_tool("dpkg-deb")
    subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
