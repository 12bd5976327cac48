# LACP helpers for the 802.3ad scenarios (sourced; not a scenario itself).
# shellcheck shell=sh

# lacp_ready BOND PORT...: status: every PORT's actor and partner port state is 63
# (activity, fast, aggregation, sync, collecting, distributing). "Number of ports: 2"
# comes seconds earlier, before traffic survives a pull (shared/notes/vm-testing.md).
lacp_ready() {
  _bond=$1
  shift
  for _p in "$@"; do
    for _who in actor partner; do
      [ "$(bond_port_state "$_bond" "$_p" "$_who")" = 63 ] || return 1
    done
  done
}

# port_mii_is BOND PORT up|down: status: the port's "MII Status" in /proc/net/bonding.
port_mii_is() {
  [ "$(awk -v p="$2" '/^Slave Interface: / { cur = $3 }
    cur == p && /^MII Status: / { print $3; exit }' "/proc/net/bonding/$1")" = "$3" ]
}
