"""One QEMU guest: its command line, a console reader that stamps every line with host
time, and a QMP client for link faults."""

import json
import os
import re
import socket
import subprocess
import threading
import time

from .errors import ScenarioError

RC_RE = re.compile(r"VMTEST_RC=(\d+)")


def default_mac(vm_index, nic):
    """Stable per (VM, NIC): the guest renames its NICs by MAC, so probe order never
    decides which one is eth1."""
    return f"52:54:00:4e:{vm_index:02x}:{nic:02x}"


class Vm:
    def __init__(self, name, index, arch, kernel, initrd, shares, netdevs, macs, sockdir,
                 log_path, t0, extra_append=(), memory=None, links_down=()):
        self.name, self.index, self.arch = name, index, arch
        self.out = next(path for tag, path, _ in shares if tag == "out")
        self.qmp_path = os.path.join(sockdir, f"{name}.qmp")
        self.log_path, self.t0 = log_path, t0
        self.rc = None  # from the console marker
        self.fails = []  # the guest's "FAIL: ..." lines (lib.sh `fail`)
        self.proc = None
        self._qmp = None
        self._lock = threading.Lock()
        self.links_down = list(links_down)
        cmd = [arch.qemu] + arch.machine_args(memory)
        cmd += ["-kernel", kernel.image, "-initrd", initrd,
                "-append", " ".join(arch.kernel_args() + list(extra_append)),
                "-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        for i, (tag, path, readonly) in enumerate(shares):
            ro = ",readonly=on" if readonly else ""
            path = path.replace(",", ",,")  # QEMU option syntax
            cmd += ["-fsdev", f"local,id=fs{i},path={path},security_model=none{ro}",
                    "-device", f"virtio-9p-device,fsdev=fs{i},mount_tag={tag}"]
        for i, (netdev, addr) in enumerate(zip(netdevs, macs)):
            # speed/duplex: without them 802.3ad ports stay "MII Status: down".
            cmd += ["-netdev", f"{netdev},id=n{i}",
                    "-device", f"virtio-net-device,netdev=n{i},mac={addr},"
                    "speed=1000,duplex=full"]
        self.cmd = cmd

    def start(self):
        self.log = open(self.log_path, "w", buffering=1)
        self.log.write("# " + " ".join(self.cmd) + "\n")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.reader = threading.Thread(target=self._read_console, daemon=True)
        self.reader.start()
        if self.links_down:
            # Within milliseconds of QEMU's start, seconds before the guest kernel probes
            # its NICs: the guest never sees these links up.
            deadline = time.monotonic() + 10
            while not os.path.exists(self.qmp_path) and time.monotonic() < deadline:
                time.sleep(0.005)
            for nic in self.links_down:
                self.set_link(nic, False)
                self.log.write(f"[{time.monotonic() - self.t0:8.3f} host] eth{nic} link down "
                               "from the start\n")

    def _read_console(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.log.write(f"[{time.monotonic() - self.t0:8.3f} {self.name}] {line}\n")
            m = RC_RE.search(line)
            if m:
                self.rc = int(m.group(1))
            if "] FAIL: " in line:
                self.fails.append(line.split("] FAIL: ", 1)[1])

    def fail_lines(self):
        return "".join(f": {f}" for f in self.fails)

    def running(self):
        return self.proc.poll() is None

    def finish(self, kill=False):
        """Stop (if KILL) and reap QEMU; close the log once the console is drained."""
        if kill and self.running():
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=5)
        if self._qmp:
            self._qmp.close()
        self.log.write(f"# qemu exit status {self.proc.returncode}, VMTEST_RC={self.rc}\n")
        self.log.close()

    def set_link(self, nic, up):
        self.qmp("set_link", {"name": f"n{nic}", "up": up})

    def qmp(self, command, arguments):
        with self._lock:
            if self._qmp is None:
                self._qmp = _Qmp(self.qmp_path)
            return self._qmp.execute(command, arguments)


class _Qmp:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.buf = b""
        self._read()  # greeting
        self.execute("qmp_capabilities", {})

    def _read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ScenarioError("QMP socket closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, command, arguments):
        self.sock.sendall(json.dumps({"execute": command, "arguments": arguments}).encode() + b"\n")
        while True:
            msg = self._read()
            if "event" in msg:
                continue
            if "error" in msg:
                raise ScenarioError(f"QMP {command} {arguments}: {msg['error']}")
            return msg.get("return")

    def close(self):
        self.sock.close()
