"""The root filesystem of `# @systemd` scenarios: a Debian bookworm built by
`debootstrap --variant=minbase` with systemd as init, shared read-only over 9p. The guest
puts a tmpfs overlay on it, installs this run's binaries and unit files into the overlay
and switch_roots to systemd (tests/vm/guest/systemd-root.sh): the cached tree is never
changed by a run, so one cache entry serves every run and every binary.

Cached under <cache>/x86_64/rootfs-<key>/root, keyed by the package list, the suite,
the mirror and RECIPE: ~100-200 s and ~170 MB once."""

import hashlib
import os
import re
import shutil
import subprocess

from .errors import PrereqError
from .util import building, need_tool, say

SUITE = "bookworm"
# systemd-networkd ships in the systemd package; udev because networkd configures a link
# only once udev has initialized it (the differential test; masked elsewhere); kmod so
# systemd-modules-load and the kernel's request_module work; busybox for the scenario
# shell (usleep, the lib.sh helpers); dbus for busctl and the D-Bus API.
# procps: a Depends of the n3xnet package (ExecReload=/bin/kill), for systemd-package.
PACKAGES = ["systemd", "systemd-sysv", "iproute2", "dbus", "kmod", "busybox", "udev", "procps"]
RECIPE = "1"
DEFAULT_MIRROR = "http://deb.debian.org/debian"


def mirror():
    """The Debian mirror apt uses (the machine may reach only that one)."""
    for d in ("/etc/apt/sources.list.d", "/etc/apt"):
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if not (name.endswith(".sources") or name.endswith(".list")):
                continue
            with open(os.path.join(d, name)) as f:
                text = f.read()
            for uri in re.findall(r"^URIs:\s*(\S+)", text, re.M) + \
                    re.findall(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+" + SUITE + r"\s", text, re.M):
                if "security" not in uri:
                    return uri
    return DEFAULT_MIRROR


def prepare(arch, cache):
    """Path of the cached root for ARCH, built if needed."""
    if arch.name != "x86_64":
        raise PrereqError("@systemd scenarios run on x86_64 only")
    url = mirror()
    key = hashlib.sha256(f"{RECIPE} {SUITE} {url} {' '.join(PACKAGES)}".encode()).hexdigest()[:12]
    final = os.path.join(cache, arch.name, f"rootfs-{key}")
    root = os.path.join(final, "root")
    if os.path.exists(os.path.join(final, ".complete")):
        return root
    debootstrap = need_tool("debootstrap")
    say(f"building the systemd root: debootstrap --variant=minbase {SUITE} (one-time, "
        f"~2-3 min, cached in {final})")
    with building(final) as tmp:
        proc = subprocess.run(
            [debootstrap, "--variant=minbase", f"--include={','.join(PACKAGES)}",
             SUITE, os.path.join(tmp, "root"), url],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            raise PrereqError("debootstrap failed:\n" + "\n".join(proc.stdout.splitlines()[-30:]))
        # Nothing below is needed to boot; ~60 MB less to share.
        for d in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc",
                  "usr/share/man", "usr/share/locale"):
            path = os.path.join(tmp, "root", d)
            if os.path.isdir(path):
                shutil.rmtree(path)
                os.makedirs(path)
        open(os.path.join(tmp, ".complete"), "w").close()
    return root
