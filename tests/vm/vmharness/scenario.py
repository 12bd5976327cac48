"""A scenario = tests/vm/scenarios/NAME.sh (run by busybox sh in every guest) with
optional host-side assertions in NAME.py. The .sh header declares the machines:

    # @arch    x86_64 aarch64      architectures to run on (default: x86_64)
    # @vms     a b                 VM names (default: a); the guest reads $VM_NAME
    # @nics    3                   NICs per VM: eth0..eth<n-1> (default: 3)
    # @link    a.eth1 b.eth1       one wire/segment; repeatable. Two ends = a point-to-point
                                   link (dgram socket pair), more = a hub. NICs in no
                                   @link sit alone on their own hub (carrier up, no peer).
    # @timeout 60                  seconds per run, boot included (default: 60)
    # @needs   n3xnetctl           binaries that must exist in the shared bin dir;
                                   fault-injection/n3xnetctl: scripts/build-fault-injection's
                                   (x86_64 only)
    # @nomod   bonding             modules not loaded and deleted in the guest
    # @mac     a.eth1 52:54:00:01:01:01   a NIC's MAC (default 52:54:00:4e:<vm>:<nic>),
                                   e.g. for DHCP reservations
    # @expect-fail REGEX           harness self-tests: the run passes only if it fails
                                   with a message matching REGEX
    # @bench                       opt-in (benchmarks): runs only when named
    # @systemd                     boot the cached debootstrap root with systemd as PID 1
                                   (x86_64 only; tests/vm/README.md, "systemd scenarios")
    # @linkdown a.eth1             the NIC's link is down from QEMU's start (QMP set_link
                                   before the guest boots): a cable unplugged at boot
"""

import dataclasses
import os
import re

from .errors import ScenarioError

SCENARIO_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "scenarios")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Binaries under this dir of the bin dir are the fault-injection build's.
FAULT_DIR = "fault-injection/"


@dataclasses.dataclass
class Scenario:
    name: str
    script: str
    check: str  # host-side assertions (.py) or None
    arches: list
    vms: list
    nics: int
    links: list  # [[(vm, nic index), ...], ...]
    timeout: float
    needs: list
    nomod: list
    expect_fail: str = None
    bench: bool = False  # opt-in: not in the default set, runs only when named
    macs: dict = dataclasses.field(default_factory=dict)  # (vm, nic index) -> MAC
    systemd: bool = False  # boot the debootstrap root with systemd as PID 1
    linkdown: list = dataclasses.field(default_factory=list)  # [(vm, nic index)]: down at start

    def segments(self):
        """Every NIC's segment: {(vm, idx): segment id}, and the segments' end lists."""
        seg_of, segs = {}, []
        for ends in self.links:
            for end in ends:
                seg_of[end] = len(segs)
            segs.append(list(ends))
        for vm in self.vms:
            for i in range(self.nics):
                if (vm, i) not in seg_of:
                    seg_of[(vm, i)] = len(segs)
                    segs.append([(vm, i)])
        return seg_of, segs


def load_all():
    # NAME.boot.sh: a @systemd scenario's boot hook, not a scenario.
    names = sorted(f[:-3] for f in os.listdir(SCENARIO_DIR)
                   if f.endswith(".sh") and not f.endswith(".boot.sh"))
    return [load(n) for n in names]


def load(name, directory=SCENARIO_DIR):
    script = os.path.join(directory, f"{name}.sh")
    if not os.path.exists(script):
        raise ScenarioError(f"no scenario {name} ({script})")
    check = os.path.join(directory, f"{name}.py")
    s = Scenario(name, script, check if os.path.exists(check) else None, ["x86_64"],
                 ["a"], 3, [], 60.0, [], [])
    raw_links, raw_macs = [], []
    with open(script) as f:
        for lineno, line in enumerate(f, 1):
            m = re.match(r"#\s*@([\w-]+)\s+(.*?)\s*$", line)
            if m is None:
                continue
            key, words = m.group(1), m.group(2).split()
            where = f"{script}:{lineno}"
            if key == "arch":
                s.arches = words
            elif key == "vms":
                s.vms = words
            elif key == "nics":
                s.nics = _int(words, where)
            elif key == "link":
                raw_links.append((words, where))
            elif key == "timeout":
                s.timeout = float(_int(words, where))
            elif key == "needs":
                s.needs += words
            elif key == "nomod":
                s.nomod += words
            elif key == "mac":
                raw_macs.append((words, where))
            elif key == "expect-fail":
                s.expect_fail = m.group(2)
            elif key == "bench":
                s.bench = True
            elif key == "systemd":
                s.systemd = True
            elif key == "linkdown":
                s.linkdown += [(w, where) for w in words]
            else:
                raise ScenarioError(f"{where}: unknown header @{key}")
    for vm in s.vms:
        if not NAME_RE.match(vm):
            raise ScenarioError(f"{script}: bad VM name {vm!r}")
    for a in s.arches:
        if a not in ("x86_64", "aarch64"):
            raise ScenarioError(f"{script}: unknown @arch {a}")
    if s.systemd and s.arches != ["x86_64"]:
        raise ScenarioError(f"{script}: @systemd scenarios run on x86_64 only")
    if any(n.startswith(FAULT_DIR) for n in s.needs) and s.arches != ["x86_64"]:
        raise ScenarioError(f"{script}: {FAULT_DIR} binaries (scripts/build-fault-injection, "
                            "the host's debug build) exist for x86_64 only")
    s.linkdown = [_nic_ref(s, w, where) for w, where in s.linkdown]
    seen = set()
    for words, where in raw_links:
        ends = []
        for w in words:
            end = _nic_ref(s, w, where)
            if end in seen:
                raise ScenarioError(f"{where}: {w} is on two links")
            seen.add(end)
            ends.append(end)
        if len(ends) < 2:
            raise ScenarioError(f"{where}: a link needs two ends or more")
        if len(ends) > 2 and len({vm for vm, _ in ends}) > 1:
            raise ScenarioError(f"{where}: a hub must stay inside one VM (QEMU hubs are "
                                "per process); join VMs with two-ended links")
        s.links.append(ends)
    for words, where in raw_macs:
        if len(words) != 2 or not re.match(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$", words[1]):
            raise ScenarioError(f"{where}: expected '@mac VM.ethN xx:xx:xx:xx:xx:xx'")
        s.macs[_nic_ref(s, words[0], where)] = words[1]
    return s


def _nic_ref(s, word, where):
    """'vm.ethN' -> (vm, N), checked against the scenario's VMs and NIC count."""
    m = re.match(r"^([a-z0-9-]+)\.eth(\d+)$", word)
    if m is None or m.group(1) not in s.vms or int(m.group(2)) >= s.nics:
        raise ScenarioError(f"{where}: bad NIC {word!r} (VMs {s.vms}, eth0..eth{s.nics - 1})")
    return m.group(1), int(m.group(2))


def _int(words, where):
    if len(words) != 1 or not words[0].isdigit():
        raise ScenarioError(f"{where}: expected one number, got {' '.join(words)!r}")
    return int(words[0])
