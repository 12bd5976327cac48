# Body of the cable-pull scenarios (sourced; not a scenario itself): n3x's failover
# acceptance on bond0 = eth1 + eth2 (active-backup, primary eth1) carrying VLAN 200 to a
# peer on the same wire. The scenario has built the bond and defined `reach` (the peer
# answers, in every family the VLAN carries). The host pulls eth1's cable (QMP set_link)
# -> eth2 active within 1 s, bond0 up, eth1 without carrier, the peer reached again;
# cable back -> eth1 active again within 2 s, the peer reached. Checkpoints before,
# pulled, restored (n3x.cable_pull checks them); metrics failover_ms, failback_ms.
# shellcheck shell=sh
wait_for 5 bond_active_is bond0 eth1
wait_for 5 reach
# bond0's operstate follows its carrier with linkwatch's delay, and eth2 may still be
# inside its MII transition: the "before" the host checks is a steady one.
wait_for 5 bond_settled bond0
checkpoint before

_now; t0=$NOW_MS
host_link eth1 down
wait_for -s "$t0" 1 bond_active_is bond0 eth2
metric failover_ms "$WAITED_MS"
grep -qx "MII Status: up" /proc/net/bonding/bond0 || fail "bond0 went down on failover"
carrier_is eth1 0 || fail "eth1 still has carrier after the pull"
wait_for 2 reach
checkpoint pulled

_now; t0=$NOW_MS
host_link eth1 up
wait_for -s "$t0" 2 bond_active_is bond0 eth1
metric failback_ms "$WAITED_MS"
wait_for 2 reach
checkpoint restored
