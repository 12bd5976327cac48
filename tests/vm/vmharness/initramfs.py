"""The guest's initramfs: static busybox, iproute2's real `ip` as /sbin/ip2 (busybox's
`ip` silently ignores bond options) with its libraries, libgcc_s for Rust binaries run
from the 9p share, the kernel's module subset and tests/vm/guest/init as /init.
Written as a newc cpio by this module (deterministic: the cache key is its content)."""

import hashlib
import os
import shutil
import stat
import subprocess

from . import apt
from .arch import ARCHES, host_deb_arch
from .elf import Elf, closure
from .errors import PrereqError
from .kernel import MODPROBE_CONF
from .util import building, need_tool, say

# Needed by n3xnetctl (Rust std) but not by `ip`; libm for good measure (tiny).
EXTRA_LIBS = ["libgcc_s.so.1", "libm.so.6"]
# What a foreign architecture's userland is unpacked from: libc6 ships the dynamic
# loader, libgcc-s1 is EXTRA_LIBS; the rest of ip's libraries are found after.
FOREIGN_PACKAGES = ("busybox-static", "iproute2", "libc6", "libgcc-s1")
GUEST_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "guest")


class Userland:
    """Where the guest's programs come from: ROOT (a filesystem tree) and the paths of
    busybox and ip inside it."""

    def __init__(self, root, busybox, ip):
        self.root, self.busybox, self.ip = root, busybox, ip


def userland(arch, cache):
    if arch.deb == host_deb_arch():
        busybox = need_tool("busybox")
        ip = need_tool("ip")
        return Userland("/", busybox, ip)
    return apt.with_fresh_lists(lambda: _foreign_userland(arch, cache))


def _foreign_userland(arch, cache):
    """busybox-static and iproute2 of ARCH plus the library packages `ip` needs, as
    unpacked .debs; the packages are found by asking dpkg which host package ships the
    same soname (the host has iproute2 installed: same package, other architecture)."""
    pkgs = {p: apt.candidate(arch.spec(p)) for p in FOREIGN_PACKAGES}
    key = "_".join(f"{p}-{v}" for p, v in sorted(pkgs.items())).replace(":", "%")
    final = os.path.join(cache, arch.name, f"userland-{key}")
    done = os.path.join(final, ".complete")
    if not os.path.exists(done):
        say(f"{arch.name}: fetching busybox-static, iproute2 and libraries (one-time)")
        with building(final) as tmp:
            root = os.path.join(tmp, "root")
            debs = apt.download([f"{arch.spec(p)}={v}" for p, v in pkgs.items()],
                                os.path.join(tmp, "deb0"))
            fetched = set(pkgs)
            for rnd in range(1, 10):
                for deb in debs:
                    apt.extract(deb, root)
                _, missing = _programs(arch, root)
                if not missing:
                    break
                wanted = sorted({_host_package_of(s) for s in missing} - fetched)
                if not wanted:
                    raise PrereqError(f"{arch.name}: cannot find packages for {sorted(missing)}")
                fetched.update(wanted)
                apt.prefetch([arch.spec(p) for p in wanted])
                specs = [f"{arch.spec(p)}={apt.candidate(arch.spec(p))}" for p in wanted]
                debs = apt.download(specs, os.path.join(tmp, f"deb{rnd}"))
            for d in os.listdir(tmp):
                if d.startswith("deb"):
                    shutil.rmtree(os.path.join(tmp, d))
            open(os.path.join(tmp, ".complete"), "w").close()
    root = os.path.join(final, "root")
    return Userland(root, "/bin/busybox", "/bin/ip")


def _host_package_of(soname):
    """The package shipping SONAME in the host's own multiarch dir (not a cross
    toolchain's copy such as libc6-arm64-cross)."""
    host_triplet = next(a.triplet for a in ARCHES.values() if a.deb == host_deb_arch())
    out = subprocess.run(["dpkg", "-S", f"*/{soname}"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        pkg, _, path = line.partition(": ")
        if os.path.basename(path) == soname and path.split("/")[-2] == host_triplet:
            return pkg.split(":")[0]
    raise PrereqError(f"no installed package ships {soname} (is iproute2 installed?)")


def _programs(arch, root, busybox="/bin/busybox", ip="/bin/ip"):
    files, missing = closure(root, ip, arch.triplet, arch.elf_machine)
    for lib in EXTRA_LIBS:
        more, miss = closure(root, f"/lib/{arch.triplet}/{lib}", arch.triplet, arch.elf_machine)
        files.update(more)
        missing |= miss
    if os.path.exists(os.path.join(root, busybox.lstrip("/"))) or root == "/":
        bb = Elf(os.path.join(root, busybox.lstrip("/")))
        if not bb.is_static or bb.machine != arch.elf_machine:
            raise PrereqError(f"{busybox} in {root} is not a static {arch.name} busybox "
                              "(install busybox-static)")
    return files, missing


def build(arch, kernel, land, cache):
    """Path of the cached initramfs for KERNEL and LAND, built if needed."""
    files, missing = _programs(arch, land.root, land.busybox, land.ip)
    if missing:
        raise PrereqError(f"{arch.name}: libraries not found: {sorted(missing)}")
    entries = {}  # guest path -> (mode, host file or bytes)
    entries["/init"] = (0o755, os.path.join(GUEST_DIR, "init"))
    entries["/bin/busybox"] = (0o755, os.path.join(land.root, land.busybox.lstrip("/")))
    for guest, host in files.items():
        entries["/sbin/ip2" if guest == land.ip else guest] = (0o755, host)
    for dirpath, _dirs, names in os.walk(kernel.modules_root):
        for name in names:
            host = os.path.join(dirpath, name)
            entries["/" + os.path.relpath(host, kernel.modules_root)] = (0o644, host)
    entries["/etc/n3x/modules.load"] = (0o644, kernel.load_list)
    entries["/etc/modprobe.d/n3x.conf"] = (0o644, MODPROBE_CONF.encode())
    dirs = ["/proc", "/sys", "/dev", "/tmp", "/run", "/root", "/var/lib", "/mnt/repo",
            "/mnt/bin", "/mnt/out", "/usr/bin", "/usr/sbin", "/sbin"]

    h = hashlib.sha256()
    for guest in sorted(entries):
        mode, src = entries[guest]
        h.update(f"{guest} {mode:o}\n".encode())
        h.update(hashlib.sha256(_content(src)).digest())
    h.update(" ".join(dirs).encode())
    out = os.path.join(cache, arch.name, f"initrd-{h.hexdigest()[:16]}.cpio")
    if os.path.exists(out):
        return out
    say(f"{arch.name}: writing initramfs {out}")
    tmp = out + f".tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        w = _Newc(f)
        for guest in sorted(set(dirs) | {os.path.dirname(p) for p in entries}):
            w.parents(guest)
        for guest in sorted(entries):
            mode, src = entries[guest]
            w.parents(os.path.dirname(guest))
            w.file(guest, mode, _content(src))
        w.trailer()
    os.rename(tmp, out)
    return out


def _content(src):
    if isinstance(src, bytes):
        return src
    with open(src, "rb") as f:
        return f.read()


class _Newc:
    """Minimal `cpio -H newc` writer: all entries root-owned, mtime 0."""

    def __init__(self, f):
        self.f, self.ino, self.made = f, 1, {"/", ""}

    def _entry(self, name, mode, data=b""):
        name_b = name.lstrip("/").encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0]
        self.ino += 1
        hdr = b"070701" + b"".join(b"%08X" % v for v in fields)
        self.f.write(hdr + name_b + b"\0" * (-(len(hdr) + len(name_b)) % 4))
        self.f.write(data + b"\0" * (-len(data) % 4))

    def parents(self, path):
        if path in self.made:
            return
        self.parents(os.path.dirname(path))
        self._entry(path, stat.S_IFDIR | 0o755)
        self.made.add(path)

    def file(self, name, mode, data):
        self._entry(name, stat.S_IFREG | mode, data)

    def trailer(self):
        self._entry("TRAILER!!!", 0)
