"""The guest kernel: Debian's current linux-image for the architecture, downloaded (not
installed) and reduced to an uncompressed kernel plus the modules the scenarios need.
Cached under <cache>/<arch>/kernel-<package>_<version>-<recipe>."""

import gzip
import hashlib
import lzma
import os
import re
import shutil
import subprocess

from . import apt
from .errors import PrereqError
from .util import building, need_tool, say

# Loaded by the guest's /init in this order (with their dependency closure). dummy and
# virtio_console are not needed by today's scenarios but are cheap and expected soon.
# overlay and autofs4: the @systemd guests (a tmpfs overlay on the 9p root; systemd
# wants autofs4).
MODULES = ["virtio_mmio", "virtio_pci", "virtio_net", "9p", "9pnet_virtio", "netfs",
           "bonding", "8021q", "dummy", "ipvlan", "macvlan", "veth", "overlay", "autofs4"]
# Without these loading bonding/dummy creates a bond0/dummy0 nobody asked for.
MODPROBE_CONF = "options bonding max_bonds=0\noptions dummy numdummies=0\n"
RECIPE = hashlib.sha256(("1\n" + " ".join(MODULES) + MODPROBE_CONF).encode()).hexdigest()[:8]


class Kernel:
    """A prepared kernel dir: `kernel` (bootable image), `lib/modules/<kver>/...`
    (the module subset with its modules.dep) and `modules.load` (guest paths + params
    in load order)."""

    def __init__(self, path):
        self.path = path
        self.image = os.path.join(path, "kernel")
        with open(os.path.join(path, "kver")) as f:
            self.kver = f.read().strip()
        self.modules_root = os.path.join(path, "modroot")
        self.load_list = os.path.join(path, "modules.load")


def prepare(arch, cache):
    return apt.with_fresh_lists(lambda: _prepare(arch, cache))


def _prepare(arch, cache):
    pkg, version = apt.image_of(arch.spec(arch.kernel_meta))
    final = os.path.join(cache, arch.name, f"kernel-{pkg}_{version}-{RECIPE}")
    if os.path.exists(os.path.join(final, "kver")):
        return Kernel(final)
    for tool in ("depmod", "modprobe"):
        need_tool(tool)
    say(f"{arch.name}: preparing kernel {pkg} {version} (one-time, cached in {final})")
    with building(final) as tmp:
        (deb,) = apt.download([f"{arch.spec(pkg)}={version}"], os.path.join(tmp, "deb"))
        root = os.path.join(tmp, "root")
        apt.extract(deb, root)
        kvers = os.listdir(os.path.join(root, "lib", "modules"))
        if len(kvers) != 1:
            raise PrereqError(f"{deb}: expected one lib/modules/<kver>, found {kvers}")
        kver = kvers[0]
        _write_image(arch, os.path.join(root, "boot", f"vmlinuz-{kver}"),
                     os.path.join(tmp, "kernel"))
        _subset_modules(root, kver, tmp)
        with open(os.path.join(tmp, "kver"), "w") as f:
            f.write(kver + "\n")
        shutil.rmtree(root)
        shutil.rmtree(os.path.join(tmp, "deb"))
    return Kernel(final)


def _write_image(arch, vmlinuz, dest):
    """An image QEMU boots without decompressing: TCG spends ~5 s inflating bzImage."""
    with open(vmlinuz, "rb") as f:
        data = f.read()
    if arch.name == "x86_64":
        off = data.find(b"\xfd7zXZ\x00")
        if off < 0:
            raise PrereqError(f"{vmlinuz}: no xz payload found (not a Debian bzImage?)")
        dec = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        image = dec.decompress(data[off:])
        if not dec.eof or image[:4] != b"\x7fELF":
            raise PrereqError(f"{vmlinuz}: xz payload is not a complete vmlinux ELF")
    else:
        image = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        if image[56:60] != b"ARM\x64":
            raise PrereqError(f"{vmlinuz}: not an arm64 Image (no ARM\\x64 magic)")
    with open(dest, "wb") as f:
        f.write(image)


def _subset_modules(root, kver, out):
    """Copy MODULES and their dependency closure (modprobe --show-depends against the
    unpacked package) to out/modroot, depmod it, and write out/modules.load."""
    subprocess.run(["depmod", "-b", root, kver], check=True)
    conf = os.path.join(out, "modprobe.conf")
    with open(conf, "w") as f:
        f.write(MODPROBE_CONF)
    moddir = os.path.join(root, "lib", "modules", kver)
    order, params = [], {}
    for mod in MODULES:
        proc = subprocess.run(["modprobe", "-d", root, "-S", kver, "-C", conf,
                               "--show-depends", mod], capture_output=True, text=True)
        if proc.returncode != 0:
            raise PrereqError(f"kernel {kver} has no module {mod}: {proc.stderr.strip()}")
        for line in proc.stdout.splitlines():
            m = re.match(r"insmod (\S+)\s*(.*)$", line)
            if m is None:  # "builtin X": nothing to load
                continue
            rel = os.path.relpath(m.group(1), moddir)
            if rel not in params:
                order.append(rel)
                params[rel] = m.group(2).strip()
    dest = os.path.join(out, "modroot", "lib", "modules", kver)
    for rel in order:
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copy2(os.path.join(moddir, rel), os.path.join(dest, rel))
    for meta in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        if os.path.exists(os.path.join(moddir, meta)):
            shutil.copy2(os.path.join(moddir, meta), dest)
    subprocess.run(["depmod", "-b", os.path.join(out, "modroot"), kver], check=True)
    with open(os.path.join(out, "modules.load"), "w") as f:
        for rel in order:
            f.write(f"/lib/modules/{kver}/{rel} {params[rel]}".rstrip() + "\n")
    os.remove(conf)
