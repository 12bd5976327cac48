# Harness self-test of `@nomod`: the guest really has no bonding module (what a
# "kernel without bonding" scenario needs), while 8021q is still there.
# @nomod   bonding
# @timeout 40
[ ! -e /sys/module/bonding ] || fail "bonding is loaded"
if ip2 link add bond0 type bond 2>/dev/null; then fail "a bond could be created"; fi
[ -z "$(find /lib/modules -name 'bonding.ko*')" ] || fail "bonding.ko still on disk"
ip2 link add link eth1 name eth1.100 type vlan id 100
checkpoint vlan-only
