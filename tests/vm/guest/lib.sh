# Helpers for VM scenarios (busybox sh, sourced before the scenario, under `set -e`).
# Rule: assert on kernel state (real iproute2 `ip2`, /proc, /sys), never on our own log
# lines; wait for state with wait_for (a timeout), never with a fixed sleep.
#
#   log MSG...                  console line with guest uptime
#   fail MSG...                 end the scenario as failed (only from the main shell,
#                               not inside $(...))
#   assert_eq WANT GOT WHAT     fail unless WANT = GOT
#   now_ms                      guest uptime in ms (10 ms resolution); or `_now` sets NOW_MS
#   wait_for [-s T0] SECS CMD...  run CMD every 20 ms until it succeeds; fail after SECS
#                               (decimals ok) counted from T0 (ms, default: now);
#                               sets WAITED_MS (from T0)
#   metric NAME VALUE           a number the host prints in the report (e.g. failover_ms)
#   checkpoint NAME             dump link/addr/route JSON and /proc/net/bonding/* for the
#                               host-side assertions in scenarios/<name>.py
#   capture NAME RC|any CMD...  run CMD, keep stdout/stderr/status as files/NAME.{out,err,rc}
#                               for the host; fail if the status is not RC
#   host_link ETH up|down       the host sets this NIC's link (QMP set_link): this VM
#                               sees carrier loss, its peer does not (one-sided fault)
#   host_cable ETH up|down      the same on every end of ETH's wire: a pulled cable
#   barrier NAME                wait until every VM of the scenario reached barrier NAME
#   bond_active BOND            the bond's "Currently Active Slave"
#   bond_active_is BOND IF      status: is IF the active slave?
#   bond_port_state BOND IF actor|partner   LACP port state (63 = aggregated, in sync)
#   carrier_is IF 0|1           status: /sys/class/net/IF/carrier
#   oper_up IF                  status: IF's operstate is up (it follows carrier with
#                               linkwatch's delay, up to 1 s)
#   bond_settled BOND           status: BOND's operstate is up and no port is between two
#                               MII states (up/downdelay, or a commit the bond deferred
#                               because it could not take RTNL): a steady snapshot
#   v6_ready IF ADDR...         status: every ADDR (IPv6 with its prefix length) is on IF
#                               and none of IF's IPv6 addresses is tentative (DAD over;
#                               the kernel shows a dadfailed address as tentative too)
#   vlan_peer ETH VID ADDR...   a host at the far end of ETH's wire: ETH moves into netns
#                               "peer", with VLAN VID on it holding each ADDR (IPv4 or
#                               IPv6, with its prefix length)
# shellcheck shell=sh

OUT=/mnt/out

_now() {
  read -r _up _rest < /proc/uptime
  _cs=${_up#*.}
  _cs=${_cs#0}
  NOW_MS=$(( ${_up%.*} * 1000 + _cs * 10 ))
}

now_ms() { _now; echo "$NOW_MS"; }

log() {
  _now
  echo "[$VM_NAME $NOW_MS ms] $*"
}

fail() {
  log "FAIL: $*"
  # The state at the failure, for whoever reads the kept logs (<vm>/out/cp/failed).
  checkpoint failed >/dev/null 2>&1 || true
  ip2 -br link 2>/dev/null || true
  exit 1
}

assert_eq() {
  [ "$1" = "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}

# "1.5" -> 1500
_to_ms() {
  case $1 in
    *.*) _f=${1#*.}000; _i=${1%.*}; echo $(( ${_i:-0} * 1000 + $(echo "$_f" | cut -c1-3 | sed 's/^0*//;s/^$/0/') )) ;;
    *) echo $(( $1 * 1000 )) ;;
  esac
}

wait_for() {
  _now
  _t0=$NOW_MS
  if [ "$1" = -s ]; then _t0=$2; shift 2; fi
  _secs=$1
  _limit=$(_to_ms "$1")
  shift
  while :; do
    if "$@" >/dev/null 2>&1; then
      _now
      # shellcheck disable=SC2034  # read by the scenarios
      WAITED_MS=$((NOW_MS - _t0))
      return 0
    fi
    _now
    if [ $((NOW_MS - _t0)) -ge "$_limit" ]; then
      fail "timed out after ${_secs}s waiting for: $*"
    fi
    usleep 20000
  done
}

metric() {
  echo "$1=$2" >> "$OUT/metrics"
  log "metric $1=$2"
}

checkpoint() {
  _d=$OUT/cp/$1
  mkdir -p "$_d"
  ip2 -d -j link show > "$_d/link.json"
  ip2 -j addr show > "$_d/addr.json"
  ip2 -j route show table all > "$_d/route.json"
  ip2 -j -6 route show table all > "$_d/route6.json"
  for _b in /proc/net/bonding/*; do
    [ -e "$_b" ] && cat "$_b" > "$_d/bonding.${_b##*/}"
  done
  log "checkpoint $1"
}

capture() {
  _name=$1 _want=$2
  shift 2
  "$@" > "$OUT/files/$_name.out" 2> "$OUT/files/$_name.err" && _rc=0 || _rc=$?
  echo "$_rc" > "$OUT/files/$_name.rc"
  log "capture $_name: '$*' exited $_rc"
  if [ "$_want" != any ] && [ "$_rc" != "$_want" ]; then
    sed 's/^/  stdout: /' "$OUT/files/$_name.out"
    sed 's/^/  stderr: /' "$OUT/files/$_name.err"
    fail "$*: exit status $_rc, expected $_want"
  fi
}

_req_seq=0
# host_request WORDS...: ask tests/vm/run for something; fail unless it answers "ok".
host_request() {
  _req_seq=$((_req_seq + 1))
  _f=$OUT/ctl/req.$_req_seq
  echo "$*" > "$_f.tmp"
  mv "$_f.tmp" "$_f"
  while [ ! -e "$OUT/ctl/ack.$_req_seq" ]; do usleep 10000; done
  read -r _ack < "$OUT/ctl/ack.$_req_seq"
  case $_ack in
    ok*) ;;
    *) fail "host refused '$*': $_ack" ;;
  esac
}

host_link() { host_request link "$1" "$2"; log "host set link $1 $2"; }
host_cable() { host_request cable "$1" "$2"; log "host set cable $1 $2"; }
barrier() { log "barrier $1: waiting"; host_request barrier "$1"; log "barrier $1: passed"; }

bond_active() {
  sed -n 's/^Currently Active Slave: //p' "/proc/net/bonding/$1"
}

bond_active_is() { [ "$(bond_active "$1")" = "$2" ]; }

# bond_port_state BOND IF actor|partner
bond_port_state() {
  awk -v ifc="$2" -v who="details $3 lacp pdu:" '
    /^Slave Interface: / { cur = $3 }
    $0 == who { inblk = (cur == ifc); next }
    /^details / { inblk = 0 }
    inblk && /port state:/ { print $3; exit }
  ' "/proc/net/bonding/$1"
}

carrier_is() { [ "$(cat "/sys/class/net/$1/carrier" 2>/dev/null)" = "$2" ]; }

v6_ready() {
  _v6=$(ip2 -6 -o addr show dev "$1")
  shift
  for _a in "$@"; do
    case $_v6 in *" $_a "*) ;; *) return 1 ;; esac
  done
  case $_v6 in *tentative*) return 1 ;; esac
}

vlan_peer() {
  _eth=$1 _vid=$2
  shift 2
  ip2 netns add peer
  ip2 link set "$_eth" netns peer
  ip2 -n peer link set "$_eth" up
  ip2 -n peer link add link "$_eth" name "$_eth.$_vid" type vlan id "$_vid"
  for _a in "$@"; do ip2 -n peer addr add "$_a" dev "$_eth.$_vid"; done
  ip2 -n peer link set "$_eth.$_vid" up
}

# make_bond BOND MODE PRIMARY|- MEMBER... [-- EXTRA ip link OPTIONS]: the iproute2
# reference setup (what n3xnet must end up with): members down, enslaved, bond up.
make_bond() {
  _bond=$1 _mode=$2 _primary=$3
  shift 3
  _members=
  while [ $# -gt 0 ] && [ "$1" != -- ]; do _members="$_members $1"; shift; done
  [ "${1:-}" = -- ] && shift
  # shellcheck disable=SC2068  # extra options are words
  ip2 link add "$_bond" type bond mode "$_mode" miimon 100 $@
  for _m in $_members; do
    ip2 link set "$_m" down
    ip2 link set "$_m" master "$_bond"
  done
  [ "$_primary" = - ] || ip2 link set "$_bond" type bond primary "$_primary"
  ip2 link set "$_bond" up
  log "bond $_bond ($_mode) over$_members is up"
}

oper_up() { [ "$(cat "/sys/class/net/$1/operstate")" = up ]; }

bond_settled() {
  oper_up "$1" && ! grep -q '^MII Status: going' "/proc/net/bonding/$1"
}
