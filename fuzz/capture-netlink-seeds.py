#!/usr/bin/env python3
"""Writes fuzz/corpus/netlink_dump/ from real kernel dumps (run as root, once; the
seeds are committed). A scratch network namespace gets the kinds of links n3xnet
reads that this kernel has (veth, macvlan, ipvlan, VLAN, bond where the modules
load), addresses and routes; then RTM_GETLINK, RTM_GETADDR (IPv4, IPv6) and
RTM_GETROUTE are dumped the way src/netlink/dump.rs asks, and each reply is saved
raw: whole dumps, and each message alone."""
import os, socket, struct, subprocess, sys

NS = "n3xfuzzseed"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "netlink_dump")
SETUP = [
    "link add eth1 type veth peer name eth1p", "link add eth2 type veth peer name eth2p",
    "link add mv0 link eth1 type macvlan mode bridge", "link add ipv0 link eth2 type ipvlan mode l2",
    "link add eth1.200 link eth1 type vlan id 200", "link add bond0 type bond mode 802.3ad miimon 100",
    "link set eth2p master bond0", "link set eth1 up", "link set eth1p up", "link set mv0 up",
    "addr add 192.168.1.3/24 dev eth1", "addr add 10.0.0.2/30 dev mv0 valid_lft 300 preferred_lft 200",
    "addr add fd00::2/64 dev eth1", "route add default via 192.168.1.1 dev eth1",
    "route add 10.9.0.0/16 via 192.168.1.1 dev eth1 metric 50 proto static",
    "-6 route add fd00:50::/48 via fd00::1 dev eth1", "-6 route add default via fe80::1 dev eth1",
]
REQUESTS = {  # name -> (type, family, body after the family byte)
    "links": (18, socket.AF_UNSPEC, b"\0" * 15),   # RTM_GETLINK, ifinfomsg
    "addr4": (22, socket.AF_INET, b"\0" * 7),      # RTM_GETADDR, ifaddrmsg
    "addr6": (22, socket.AF_INET6, b"\0" * 7),
    "routes": (26, socket.AF_UNSPEC, b"\0" * 3 + bytes([254]) + b"\0" * 7),  # RTM_GETROUTE, both families
}

def dump(kind, family, body):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    payload = bytes([family]) + body
    s.send(struct.pack("=IHHII", 16 + len(payload), kind, 0x301, 1, 0) + payload)
    msgs = []
    while True:
        data = s.recv(1 << 16)
        while data:
            length, typ = struct.unpack_from("=IH", data)
            if typ == 3:  # NLMSG_DONE
                return msgs
            msgs.append(data[:length])
            data = data[(length + 3) & ~3:]

if __name__ == "__main__":
    if len(sys.argv) == 1:
        subprocess.run(["ip", "netns", "add", NS], check=True)
        try:
            for cmd in SETUP:
                subprocess.run(["ip", "-n", NS] + cmd.split(), check=False)
            subprocess.run(["ip", "netns", "exec", NS, sys.executable, __file__, "inside"], check=True)
        finally:
            subprocess.run(["ip", "netns", "del", NS], check=True)
    else:
        os.makedirs(OUT, exist_ok=True)
        for name, req in REQUESTS.items():
            msgs = dump(*req)
            with open(os.path.join(OUT, f"dump-{name}"), "wb") as f:
                f.write(b"".join(msgs))
            for i, m in enumerate(msgs):
                with open(os.path.join(OUT, f"{name}-{i}"), "wb") as f:
                    f.write(m)
