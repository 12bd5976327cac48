# n3x's failover acceptance on the bond n3xnetctl built (updelay/downdelay 200 ms as
# in n3x's NixOS module): cable pull on eth1 -> eth2 active within 1 s and bond0 up;
# cable back -> eth1 active again within 2 s; then check reports no drift.
# @vms     server-1
# @needs   n3xnetctl
# @timeout 90
P=profiles/bonding-vlans.toml
capture apply 0 n3xnetctl apply --profile $P
wait_for 5 bond_active_is bond0 eth1

_now; t0=$NOW_MS
host_link eth1 down
wait_for -s "$t0" 1 bond_active_is bond0 eth2
metric failover_ms "$WAITED_MS"
grep -qx "MII Status: up" /proc/net/bonding/bond0 || fail "bond0 went down on failover"
checkpoint pulled

_now; t0=$NOW_MS
host_link eth1 up
wait_for -s "$t0" 2 bond_active_is bond0 eth1
metric failback_ms "$WAITED_MS"
checkpoint restored
capture check 0 n3xnetctl check --json --profile $P
