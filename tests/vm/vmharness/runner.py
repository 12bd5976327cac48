"""Runs one scenario on one architecture: boots its VMs, serves their requests (QMP link
faults, barriers), enforces the timeout, then runs the host-side checks."""

import dataclasses
import importlib.util
import os
import re
import shutil
import tempfile
import time
import traceback

from .errors import ScenarioError
from .kstate import Run
from .vm import Vm, default_mac

POLL_S = 0.01


@dataclasses.dataclass
class Result:
    scenario: str
    arch: str
    ok: bool
    seconds: float
    message: str
    metrics: dict
    logdir: str

    @property
    def label(self):
        return f"{self.scenario} [{self.arch}]"


@dataclasses.dataclass
class Env:
    """What every run of an architecture shares."""
    repo: str
    arch: object
    kernel: object
    initrd: str
    bin_dir: str
    logs: str
    rootfs: str = None  # the debootstrap root of @systemd scenarios (vmharness.rootfs)


def run_scenario(sc, env):
    t0 = time.monotonic()
    logdir = os.path.join(env.logs, env.arch.name, sc.name)
    shutil.rmtree(logdir, ignore_errors=True)
    os.makedirs(logdir)
    sockdir = tempfile.mkdtemp(prefix="n3xvm-")  # short: unix socket paths max 107 bytes
    hostlog = open(os.path.join(logdir, "host.log"), "w", buffering=1)

    def note(msg):
        hostlog.write(f"[{time.monotonic() - t0:8.3f} host] {msg}\n")

    vms, metrics, message = {}, {}, None
    try:
        vms = _make_vms(sc, env, logdir, sockdir, t0)
        for vm in vms.values():
            vm.start()
        message = _serve(sc, vms, logdir, note, t0)
        for vm in vms.values():
            vm.finish(kill=message is not None)
        if message is None:
            bad = [f"{n}: VMTEST_RC={vm.rc}{vm.fail_lines()}" if vm.rc is not None
                   else f"{n}: no VMTEST_RC (qemu exit status {vm.proc.returncode})"
                   for n, vm in vms.items() if vm.rc != 0]
            message = ("guest failed (" + "; ".join(bad) + ")") if bad else None
        metrics = _metrics(vms, logdir)
        if message is None and sc.check:
            message = _host_check(sc, vms, logdir, metrics)
    except ScenarioError as e:
        message = str(e)
    except Exception:  # a harness bug must fail the scenario, not the whole run
        message = "harness error:\n" + traceback.format_exc()
    finally:
        for vm in vms.values():
            if vm.proc and vm.proc.poll() is None:
                vm.finish(kill=True)
        note(f"result: {'PASS' if message is None else 'FAIL: ' + message}")
        hostlog.close()
        shutil.rmtree(sockdir, ignore_errors=True)
    ok = message is None
    if sc.expect_fail is not None:  # a harness self-test: the failure is the result
        if ok:
            ok, message = False, f"passed, but should have failed with /{sc.expect_fail}/"
        elif re.search(sc.expect_fail, message):
            ok, message = True, f"failed as expected: {message}"
        else:
            message = f"failed, but not with /{sc.expect_fail}/: {message}"
    return Result(sc.name, env.arch.name, ok, time.monotonic() - t0, message or "", metrics,
                  logdir)


def _make_vms(sc, env, logdir, sockdir, t0):
    seg_of, segs = sc.segments()
    vms = {}
    for index, name in enumerate(sc.vms, 1):
        out = os.path.join(logdir, name, "out")
        os.makedirs(os.path.join(out, "ctl"))
        macs = [sc.macs.get((name, i), default_mac(index, i)) for i in range(sc.nics)]
        if len(set(macs)) != len(macs):
            raise ScenarioError(f"VM {name}: two NICs with one MAC ({macs})")
        nics = " ".join(f"eth{i}={m}" for i, m in enumerate(macs))
        with open(os.path.join(out, "vm.env"), "w") as f:
            f.write(f"VM_NAME='{name}'\nVM_INDEX={index}\nVM_VMS='{' '.join(sc.vms)}'\n"
                    f"VM_ARCH='{env.arch.name}'\nVM_SCENARIO='{sc.name}'\nVM_NICS='{nics}'\n")
        netdevs = []
        for i in range(sc.nics):
            seg = seg_of[(name, i)]
            ends = segs[seg]
            if len(ends) == 2 and ends[0][0] != ends[1][0]:
                peer = ends[1] if ends[0] == (name, i) else ends[0]
                netdevs.append(f"dgram,local.type=unix,local.path={sockdir}/{name}.{i},"
                               f"remote.type=unix,remote.path={sockdir}/{peer[0]}.{peer[1]}")
            else:
                netdevs.append(f"hubport,hubid={seg}")
        shares = [("repo", env.repo, True), ("bin", env.bin_dir, True), ("out", out, False)]
        append = [f"n3x.nomod={','.join(sc.nomod)}"] if sc.nomod else []
        memory = None
        if sc.systemd:
            shares.append(("root", env.rootfs, True))
            append += systemd_args()
            memory = SYSTEMD_MEMORY_MB
        vms[name] = Vm(name, index, env.arch, env.kernel, env.initrd, shares, netdevs, macs,
                       sockdir, os.path.join(logdir, f"console-{name}.log"), t0, append,
                       memory=memory, links_down=[i for vm, i in sc.linkdown if vm == name])
    return vms


# systemd, journald and dbus want more than the busybox guests' 256 MB; the overlay's
# upper layer (our binaries, modules) lives in RAM too.
SYSTEMD_MEMORY_MB = 512
def systemd_args():
    """Kernel command line of a @systemd guest: /init hands over to
    tests/vm/guest/systemd-root.sh, which switch_roots to systemd."""
    return ["n3x.systemd=1", "systemd.show_status=0", "systemd.log_target=console",
            "systemd.journald.forward_to_console=1"]


def _serve(sc, vms, logdir, note, t0):
    """Answer guest requests until every VM has exited; None, or why the run failed."""
    seen = {name: 0 for name in vms}
    barriers = {}  # name -> {vm: seq}
    deadline = t0 + sc.timeout
    while any(vm.running() for vm in vms.values()):
        if time.monotonic() > deadline:
            note(f"timeout after {sc.timeout:.0f}s: killing the VMs")
            return f"timed out after {sc.timeout:.0f}s"
        for name, vm in vms.items():
            while True:
                req = os.path.join(vm.out, "ctl", f"req.{seen[name] + 1}")
                if not os.path.exists(req):
                    break
                seen[name] += 1
                with open(req) as f:
                    words = f.read().split()
                note(f"{name} request {seen[name]}: {' '.join(words)}")
                answer = _handle(name, seen[name], words, vms, barriers, sc, note)
                if answer is not None:
                    _ack(vm, seen[name], answer, note)
        exited = [n for n, vm in vms.items() if not vm.running()]
        for bname, waiting in list(barriers.items()):
            if exited:
                for n, seq in waiting.items():
                    _ack(vms[n], seq, f"err barrier {bname}: VM {exited[0]} has exited", note)
                del barriers[bname]
        time.sleep(POLL_S)
    return None


def _handle(name, seq, words, vms, barriers, sc, note):
    """The answer to a request, or None when it is answered later (barriers)."""
    try:
        if len(words) == 3 and words[0] in ("link", "cable") and words[2] in ("up", "down"):
            nic = _nic(words[1], sc.nics)
            seg_of, segs = sc.segments()
            ends = [(name, nic)] if words[0] == "link" else segs[seg_of[(name, nic)]]
            for vm, i in ends:
                vms[vm].set_link(i, words[2] == "up")
                note(f"QMP set_link {vm}.eth{i} {words[2]}")
            return "ok"
        if len(words) == 2 and words[0] == "barrier":
            waiting = barriers.setdefault(words[1], {})
            waiting[name] = seq
            if len(waiting) == len(vms):
                for n, s in waiting.items():
                    if n != name:
                        _ack(vms[n], s, "ok", note)
                del barriers[words[1]]
                return "ok"
            return None
        return f"err unknown request: {' '.join(words)}"
    except ScenarioError as e:
        return f"err {e}"


def _nic(word, count):
    if not (word.startswith("eth") and word[3:].isdigit() and int(word[3:]) < count):
        raise ScenarioError(f"no NIC {word} (eth0..eth{count - 1})")
    return int(word[3:])


def _ack(vm, seq, answer, note):
    path = os.path.join(vm.out, "ctl", f"ack.{seq}")
    with open(path + ".tmp", "w") as f:
        f.write(answer + "\n")
    os.rename(path + ".tmp", path)
    note(f"{vm.name} answer {seq}: {answer}")


def _metrics(vms, logdir):
    metrics = {}
    for name, vm in vms.items():
        path = os.path.join(vm.out, "metrics")
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    k, _, v = line.strip().partition("=")
                    metrics[k if len(vms) == 1 else f"{name}.{k}"] = v
    return metrics


def _host_check(sc, vms, logdir, metrics):
    spec = importlib.util.spec_from_file_location(f"scenario_{sc.name.replace('-', '_')}",
                                                  sc.check)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        module.check(Run({n: vm.out for n, vm in vms.items()}, metrics))
    except AssertionError as e:
        return f"host check: {e}"
    return None
