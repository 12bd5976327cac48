# Body of the two-node VLAN scenarios (sourced; not a scenario itself): VMs server-1
# and server-2 share one wire (eth1-eth1); each applies $PROFILE as itself (no --node:
# the hostname is the node name), then pings the other's cluster and storage address.
# REACH=yes: both answer; REACH=no (vlans-broken: different VLAN ids per node): none.
# shellcheck shell=sh
capture apply 0 n3xnetctl apply --json --profile "$PROFILE"
checkpoint applied
barrier applied
other=$((3 - VM_INDEX))
for ip in "192.168.200.$other" "192.168.100.$other"; do
  if [ "$REACH" = yes ]; then
    wait_for 10 ping -c 1 -W 1 "$ip"
    log "reached $ip"
  elif ping -c 2 -W 1 "$ip"; then
    fail "reached $ip across mismatched VLANs"
  fi
done
barrier pinged
