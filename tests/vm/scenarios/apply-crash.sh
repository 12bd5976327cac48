# Crash safety at every write of bonding-vlans (issue #16 item 3b; the netns tier's
# tests/netns_crash.rs does the same for shim profiles, which need no bonding/8021q).
# A reference apply on the fresh node (with foreign objects) counts the writes W; then,
# for every k in 1..W, from the same fresh state: the fault-injection n3xnetctl aborts
# right after its k-th write (N3XNET_ABORT_AFTER_WRITE=k, exit 134 = SIGABRT); the normal
# n3xnetctl's apply exits 0 and its check exits 0; the created links are deleted and the
# ports set down again. apply-crash.py asserts on the checkpoints of every k: after the
# abort every declared link that exists is in n3xnet's group 28211; after the new apply
# bond0, bond0.100, bond0.200 are n3x's bonding-vlans, in the group with alias n3xnet;
# the foreign objects never change; after the reset the kernel equals the fresh state.
# x86_64 only: the fault-injection binaries are the host's debug build
# (scripts/build-fault-injection); the order of the writes is the same on aarch64.
# @vms     server-1
# @needs   n3xnetctl fault-injection/n3xnetctl
# @timeout 600
P=profiles/bonding-vlans.toml
FAULTY=/mnt/bin/fault-injection/n3xnetctl
ulimit -c 0   # an abort per k: no core files

# Foreign objects: a dummy link with an address and a route through it, and a VLAN of
# another NIC in n3xnet's group under a name the profile does not declare (foreign by
# README's rule: the group alone claims only a declared name). No IPv6 link-local on
# them: its DAD states would change between two checkpoints on their own.
ip2 link add fdummy0 type dummy
ip2 link set fdummy0 addrgenmode none
ip2 addr add 10.99.0.1/24 dev fdummy0
ip2 link set fdummy0 up
ip2 route add 192.0.2.0/24 via 10.99.0.254 dev fdummy0
ip2 link set eth0 addrgenmode none
ip2 link set eth0 up
ip2 link add link eth0 name fvlan300 group 28211 type vlan id 300
ip2 link set fvlan300 addrgenmode none
ip2 addr add 10.98.0.1/24 dev fvlan300
ip2 link set fvlan300 up
# A VLAN's operstate follows its parent's through the kernel's linkwatch, a moment later:
# the fresh checkpoint must not catch it still UNKNOWN.
wait_for 5 oper_up fvlan300

# Back to the fresh state: the links apply creates gone (their VLANs first), the ports
# released by the bond's deletion set down again with IPv6 autoconf back on, as at boot.
reset() {
  for l in bond0.200 bond0.100 bond0; do
    if ip2 link show dev "$l" >/dev/null 2>&1; then ip2 link del "$l"; fi
  done
  for l in eth1 eth2; do ip2 link set "$l" down addrgenmode eui64; done
}

checkpoint fresh
capture apply0 0 n3xnetctl apply --json --profile $P
writes=$(sed -n 's/.*"writes": *\([0-9][0-9]*\).*/\1/p' "$OUT/files/apply0.out" | head -n 1)
[ -n "$writes" ] || fail "apply0: no write count in its report"
metric writes "$writes"
reset
_now
t0=$NOW_MS
k=1
while [ "$k" -le "$writes" ]; do
  checkpoint "k$k-before"
  capture "k$k-abort" 134 env N3XNET_ABORT_AFTER_WRITE=$k $FAULTY apply --profile $P
  checkpoint "k$k-aborted"
  capture "k$k-apply" 0 n3xnetctl apply --json --profile $P
  capture "k$k-check" 0 n3xnetctl check --json --profile $P
  # A steady bond for n3x's assertions: eth2 is enslaved after eth1 and may still be
  # in its updelay ("going back") when eth1 is already active.
  wait_for 5 bond_active_is bond0 eth1
  wait_for 5 bond_settled bond0
  checkpoint "k$k-applied"
  reset
  k=$((k + 1))
done
_now
metric matrix_ms $((NOW_MS - t0))
metric ms_per_k $(((NOW_MS - t0) / writes))
