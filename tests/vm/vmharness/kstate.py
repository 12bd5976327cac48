"""Host-side view of what a guest dumped: the raw kernel state at a checkpoint (real
iproute2 JSON and /proc/net/bonding) and captured command output. Scenario checks
(scenarios/NAME.py, `def check(run)`) assert on these; a failed assertion raises
AssertionError with a message naming the object and both values."""

import json
import os


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def expect_eq(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: expected {want!r}, got {got!r}")


class Run:
    """Everything one scenario run left: run.vm('a'), or directly run.checkpoint(...)
    and run.file(...) when the scenario has a single VM."""

    def __init__(self, outdirs, metrics):
        self._vms = {name: GuestOut(name, d) for name, d in outdirs.items()}
        self.metrics = metrics

    def vm(self, name):
        if name not in self._vms:
            raise AssertionError(f"no VM {name!r} (have {sorted(self._vms)})")
        return self._vms[name]

    def _only(self):
        if len(self._vms) != 1:
            raise AssertionError("several VMs: use run.vm(NAME)")
        return next(iter(self._vms.values()))

    def checkpoint(self, name):
        return self._only().checkpoint(name)

    def file(self, name):
        return self._only().file(name)


class GuestOut:
    def __init__(self, name, outdir):
        self.name, self.dir = name, outdir

    def checkpoint(self, name):
        d = os.path.join(self.dir, "cp", name)
        if not os.path.isdir(d):
            have = sorted(os.listdir(os.path.join(self.dir, "cp")))
            raise AssertionError(f"VM {self.name}: no checkpoint {name!r} (have {have})")
        return State(f"{self.name}@{name}", d)

    def file(self, name):
        """Output of `capture NAME ...`: .stdout, .stderr, .rc and .json()."""
        return Captured(os.path.join(self.dir, "files", name))


class Captured:
    def __init__(self, base):
        self.base = base
        try:
            with open(base + ".rc") as f:
                self.rc = int(f.read())
        except FileNotFoundError:
            raise AssertionError(f"nothing captured as {os.path.basename(base)!r}") from None
        with open(base + ".out") as f:
            self.stdout = f.read()
        with open(base + ".err") as f:
            self.stderr = f.read()

    def json(self):
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError as e:
            raise AssertionError(f"{os.path.basename(self.base)}: stdout is not JSON ({e}): "
                                 f"{self.stdout[:300]!r}") from None


class State:
    """Kernel state at one checkpoint: `ip -d -j link`, `ip -j addr`, `ip -j route show
    table all` (v4 and v6) as parsed JSON, and every /proc/net/bonding file."""

    def __init__(self, label, d):
        self.label = label
        self.links = _load_json(d, "link.json")
        self.addr = _load_json(d, "addr.json")
        self.routes4 = _load_json(d, "route.json")
        self.routes6 = _load_json(d, "route6.json")
        self.bonds = {}
        for f in os.listdir(d):
            if f.startswith("bonding."):
                with open(os.path.join(d, f)) as fh:
                    self.bonds[f[len("bonding."):]] = Bond(fh.read())

    def link(self, name):
        for link in self.links:
            if link["ifname"] == name:
                return link
        raise AssertionError(f"{self.label}: no link {name} "
                             f"(have {[l['ifname'] for l in self.links]})")

    def has_link(self, name):
        return any(link["ifname"] == name for link in self.links)

    def kind(self, name):
        return self.link(name).get("linkinfo", {}).get("info_kind")

    def info_data(self, name):
        return self.link(name).get("linkinfo", {}).get("info_data", {})

    def addrs(self, name, family="inet"):
        """'a.b.c.d/len' strings of link NAME (family 'inet' or 'inet6')."""
        return [f"{a['local']}/{a['prefixlen']}" for a in self.addr_info(name, family)]

    def addr_info(self, name, family="inet"):
        """The `ip -j addr` entries of link NAME's FAMILY addresses, flags included
        (e.g. "tentative": true)."""
        for entry in self.addr:
            if entry["ifname"] == name:
                return [a for a in entry.get("addr_info", []) if a.get("family") == family]
        raise AssertionError(f"{self.label}: no link {name} in the address dump")

    def routes(self, family="inet", **match):
        """Routes whose fields equal every MATCH item (e.g. dst='192.168.200.0/24',
        dev='bond0.200'); main table unless table= is given."""
        table = match.pop("table", "main")
        rows = self.routes4 if family == "inet" else self.routes6
        return [r for r in rows if r.get("table", "main") == table
                and all(r.get(k) == v for k, v in match.items())]

    def bond(self, name):
        if name not in self.bonds:
            raise AssertionError(f"{self.label}: no /proc/net/bonding/{name} "
                                 f"(have {sorted(self.bonds)})")
        return self.bonds[name]


def _load_json(d, name):
    with open(os.path.join(d, name)) as f:
        text = f.read()
    return json.loads(text) if text.strip() else []


class Bond:
    """/proc/net/bonding/<bond>, parsed: `.info` (bond-level 'Key: value' pairs, indented
    lines keyed 'Heading/Key'), `.slaves` {name: {...}} with the LACP blocks keyed
    'details actor lacp pdu/port state' and so on. Keys as the kernel prints them."""

    def __init__(self, text):
        self.text = text
        self.info, self.slaves = {}, {}
        cur, heading = self.info, None
        for line in text.splitlines():
            if not line.strip():
                continue
            indented = line[0] in " \t"
            key, sep, val = line.strip().partition(":")
            val = val.strip()
            if not indented:
                heading = None
            if key == "Slave Interface" and not indented:
                cur = self.slaves.setdefault(val, {})
                continue
            if sep and not val and not indented:
                heading = key
                continue
            if not sep:
                continue
            cur[f"{heading}/{key}" if indented and heading else key] = val

    @property
    def mode(self):
        return self.info.get("Bonding Mode")

    @property
    def active_slave(self):
        return self.info.get("Currently Active Slave")

    @property
    def mii_status(self):
        return self.info.get("MII Status")

    def port_state(self, slave, who="actor"):
        s = self.slaves.get(slave)
        if s is None:
            raise AssertionError(f"bond has no slave {slave} (have {sorted(self.slaves)})")
        v = s.get(f"details {who} lacp pdu/port state")
        return int(v) if v is not None else None
