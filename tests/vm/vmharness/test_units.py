"""Unit tests of the harness's parsers; tests/vm/run runs them before booting anything
(python3 -m unittest discover -s tests/vm/vmharness -t tests/vm also works)."""

import json
import os
import shutil
import tempfile
import unittest

from vmharness import n3x, scenario
from vmharness.elf import Elf
from vmharness.errors import ScenarioError
from vmharness.kstate import Bond, State

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")

ACTIVE_BACKUP = """Ethernet Channel Bonding Driver: v6.1.0-56-amd64

Bonding Mode: fault-tolerance (active-backup)
Primary Slave: eth1 (primary_reselect always)
Currently Active Slave: eth2
MII Status: up
MII Polling Interval (ms): 100

Slave Interface: eth1
MII Status: down
Link Failure Count: 1

Slave Interface: eth2
MII Status: up
Link Failure Count: 0
"""


class BondParse(unittest.TestCase):
    def test_active_backup(self):
        b = Bond(ACTIVE_BACKUP)
        self.assertEqual(b.mode, "fault-tolerance (active-backup)")
        self.assertEqual(b.active_slave, "eth2")
        self.assertEqual(b.info["Primary Slave"], "eth1 (primary_reselect always)")
        self.assertEqual(list(b.slaves), ["eth1", "eth2"])
        self.assertEqual(b.slaves["eth1"]["MII Status"], "down")
        self.assertEqual(b.slaves["eth1"]["Link Failure Count"], "1")
        self.assertIsNone(b.port_state("eth1"))

    def test_802_3ad_from_a_real_guest(self):
        with open(os.path.join(FIXTURES, "bonding-802.3ad.txt")) as f:
            b = Bond(f.read())
        self.assertEqual(b.mode, "IEEE 802.3ad Dynamic link aggregation")
        self.assertEqual(b.info["LACP rate"], "fast")
        self.assertEqual(b.info["Active Aggregator Info/Number of ports"], "2")
        self.assertEqual(b.info["Active Aggregator Info/Partner Mac Address"],
                         "52:54:00:4e:02:01")
        for port in ("eth1", "eth2"):
            self.assertEqual(b.port_state(port, "actor"), 63)
            self.assertEqual(b.port_state(port, "partner"), 63)
            self.assertEqual(b.slaves[port]["details partner lacp pdu/system mac address"],
                             "52:54:00:4e:02:01")
        with self.assertRaises(AssertionError):
            b.port_state("eth9")


class ScenarioHeaders(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.dir)

    def load(self, header):
        with open(os.path.join(self.dir, "t.sh"), "w") as f:
            f.write(header + "\ntrue\n")
        return scenario.load("t", self.dir)

    def test_defaults(self):
        s = self.load("# nothing declared")
        self.assertEqual((s.arches, s.vms, s.nics, s.timeout), (["x86_64"], ["a"], 3, 60.0))
        self.assertIsNone(s.check)

    def test_topology(self):
        s = self.load("# @vms a b\n# @nics 4\n# @link a.eth1 b.eth1\n"
                      "# @link a.eth2 a.eth3 a.eth0\n# @mac b.eth2 52:54:00:01:01:02")
        seg_of, segs = s.segments()
        self.assertEqual(segs[seg_of[("a", 1)]], [("a", 1), ("b", 1)])
        self.assertEqual(seg_of[("a", 2)], seg_of[("a", 0)])
        self.assertEqual(segs[seg_of[("b", 3)]], [("b", 3)])  # alone on its hub
        self.assertEqual(len(segs), 2 + 3)  # the two links + b.eth0, b.eth2, b.eth3 alone
        self.assertEqual(s.macs, {("b", 2): "52:54:00:01:01:02"})

    def test_errors_name_the_line(self):
        for header, want in (
                ("# @color red", "unknown header @color"),
                ("# @link a.eth1 a.eth9", "bad NIC 'a.eth9'"),
                ("# @link a.eth1 c.eth1", "bad NIC 'c.eth1'"),
                ("# @link a.eth1", "two ends or more"),
                ("# @link a.eth1 a.eth2\n# @link a.eth2 a.eth0", "a.eth2 is on two links"),
                ("# @vms a b\n# @link a.eth1 b.eth1 a.eth2", "a hub must stay inside one VM"),
                ("# @mac a.eth1 nope", "expected '@mac"),
                ("# @timeout soon", "expected one number"),
                ("# @arch riscv64", "unknown @arch riscv64"),
                ("# @arch x86_64 aarch64\n# @needs fault-injection/n3xnetctl",
                 "exist for x86_64 only")):
            with self.subTest(header=header):
                with self.assertRaises(ScenarioError) as cm:
                    self.load(header)
                self.assertIn(want, str(cm.exception))
                self.assertIn("t.sh", str(cm.exception))  # names the file


class SameKernelState(unittest.TestCase):
    """n3x.same_kernel_state: a recreated link may (must) change only its ifindex."""

    def state(self, label, vlan_index, mtu=1500):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        dump = {
            "link.json": [{"ifindex": 2, "ifname": "bond0", "mtu": 1500},
                          {"ifindex": vlan_index, "ifname": "bond0.200", "mtu": mtu}],
            "addr.json": [{"ifindex": vlan_index, "ifname": "bond0.200", "addr_info": [
                {"local": "192.168.200.1", "prefixlen": 24, "valid_life_time": 7}]}],
            "route.json": [{"dst": "192.168.200.0/24", "dev": "bond0.200"}],
            "route6.json": [],
        }
        for name, value in dump.items():
            with open(os.path.join(d, name), "w") as f:
                json.dump(value, f)
        return State(label, d)

    def test_recreated_link(self):
        before = self.state("before", 7)
        n3x.same_kernel_state(before, self.state("same", 7))
        n3x.same_kernel_state(before, self.state("recreated", 9), recreated=("bond0.200",))
        for after, recreated, want in (
                (self.state("recreated", 9), (), "link bond0.200.ifindex: 7 -> 9"),
                (self.state("kept", 7), ("bond0.200",), "bond0.200 was not recreated"),
                (self.state("mtu", 9, mtu=1400), ("bond0.200",), "bond0.200.mtu: 1500 -> 1400")):
            with self.subTest(after=after.label):
                with self.assertRaises(AssertionError) as cm:
                    n3x.same_kernel_state(before, after, recreated=recreated)
                self.assertIn(want, str(cm.exception))


class ElfRead(unittest.TestCase):
    def test_dynamic_program(self):
        ip = shutil.which("ip") or "/bin/ip"
        elf = Elf(os.path.realpath(ip))
        self.assertTrue(elf.interp.startswith("/lib"))
        self.assertIn("libc.so.6", elf.needed)
        self.assertFalse(elf.is_static)

    def test_static_busybox(self):
        elf = Elf(os.path.realpath(shutil.which("busybox") or "/bin/busybox"))
        self.assertTrue(elf.is_static)
