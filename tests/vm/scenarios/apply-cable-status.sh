# Cable pull seen through n3xnetctl (issue #4 c): on the bonding-vlans bond n3xnetctl
# built, the host drops the active port's link (QMP set_link): eth2 takes over within
# 1 s with bond0 up, eth1 is active again within 2 s of the link's return, and
# `status --json` reports eth1 down (no carrier, MII down, one failure, eth2 active) and
# then up again, agreeing with /proc/net/bonding at each step (apply-cable-status.py).
# @vms     server-1
# @needs   n3xnetctl
# @timeout 90
capture apply 0 n3xnetctl apply --profile profiles/bonding-vlans.toml
wait_for 5 bond_active_is bond0 eth1
capture status-before 0 n3xnetctl status --json

_now; t0=$NOW_MS
host_link eth1 down
wait_for -s "$t0" 1 bond_active_is bond0 eth2
metric failover_ms "$WAITED_MS"
grep -qx "MII Status: up" /proc/net/bonding/bond0 || fail "bond0 went down on failover"
checkpoint pulled
capture status-pulled 0 n3xnetctl status --json

_now; t0=$NOW_MS
host_link eth1 up
wait_for -s "$t0" 2 bond_active_is bond0 eth1
metric failback_ms "$WAITED_MS"
checkpoint restored
capture status-restored 0 n3xnetctl status --json
