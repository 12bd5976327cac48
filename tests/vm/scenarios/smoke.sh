# Proves the harness on both architectures: boot, then build with iproute2 what the
# bonding-vlans profile describes for server-1 (bond0 = eth1+eth2, active-backup,
# miimon 100, primary eth1; VLAN 200 with 192.168.200.1/24 and VLAN 100 with
# 192.168.100.1/24) and dump the state. Host-side assertions: smoke.py, the same
# n3x assertions (vmharness/n3x.py) the n3xnetctl scenarios must pass.
# @arch    x86_64 aarch64
# @timeout 60
make_bond bond0 active-backup eth1 eth1 eth2
for v in 200 100; do
  ip2 link add link bond0 name bond0.$v type vlan id $v
  ip2 addr add 192.168.$v.1/24 dev bond0.$v
  ip2 link set bond0.$v up
done
wait_for 5 bond_active_is bond0 eth1
wait_for 5 grep -qx "MII Status: up" /proc/net/bonding/bond0
# n3x's own test greps the text form; the JSON form is asserted in smoke.py.
ip2 -d link show bond0.200 | grep -q "vlan protocol 802.1Q id 200" ||
  fail "ip -d link show bond0.200: no 'vlan protocol 802.1Q id 200'"
checkpoint configured
