"""The guest architectures the harness boots, and how QEMU boots each one fast under
TCG (numbers in /work/shared/notes/vm-testing.md)."""

import dataclasses
import subprocess

from .errors import PrereqError


@dataclasses.dataclass(frozen=True)
class Arch:
    name: str  # as in `uname -m` and in scenario headers
    deb: str  # Debian architecture
    triplet: str  # multiarch library dir
    elf_machine: int  # e_machine of this arch's ELF files
    qemu: str
    kernel_meta: str  # Debian meta package whose Depends names the current image
    console: str

    def spec(self, pkg):
        """apt package spec: foreign architectures need the ':arch' qualifier."""
        return pkg if self.deb == host_deb_arch() else f"{pkg}:{self.deb}"

    def machine_args(self, memory=None):
        """QEMU machine options; the caller adds devices, kernel, initrd, append.
        MEMORY: MB instead of the default."""
        # Modern (non-legacy) virtio-mmio on both machines: legacy virtio-net cannot
        # report speed/duplex, and without them 802.3ad never aggregates.
        common = ["-accel", "tcg", "-smp", "1", "-nographic", "-no-reboot", "-nodefaults",
                  "-no-user-config", "-serial", "stdio",
                  "-global", "virtio-mmio.force-legacy=false"]
        if self.name == "x86_64":
            # microvm + uncompressed vmlinux (PVH entry): ~2.8 s boot to poweroff.
            return ["-M", "microvm", "-cpu", "qemu64", "-m", str(memory or 256)] + common
        return ["-M", "virt", "-cpu", "cortex-a72", "-m", str(memory or 512)] + common

    def kernel_args(self):
        args = [f"console={self.console}", "quiet", "panic=-1", "cryptomgr.notests"]
        if self.name == "x86_64":
            # Without the TSC hint microvm hangs in about half of the boots.
            args.append(f"tsc_early_khz={host_cpu_khz()}")
        return args


ARCHES = {
    "x86_64": Arch("x86_64", "amd64", "x86_64-linux-gnu", 62, "qemu-system-x86_64",
                   "linux-image-amd64", "ttyS0"),
    "aarch64": Arch("aarch64", "arm64", "aarch64-linux-gnu", 183, "qemu-system-aarch64",
                    "linux-image-arm64", "ttyAMA0"),
}


_host_deb = None


def host_deb_arch():
    global _host_deb
    if _host_deb is None:
        _host_deb = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                                   text=True, check=True).stdout.strip()
    return _host_deb


def host_cpu_khz():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("cpu MHz"):
                return int(float(line.split(":", 1)[1]) * 1000)
    raise PrereqError("no 'cpu MHz' in /proc/cpuinfo: cannot give microvm its TSC rate")
