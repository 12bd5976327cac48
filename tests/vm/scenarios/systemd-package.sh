# The Debian package under systemd as PID 1 (issue #11 item 2), on a node that runs
# systemd-networkd: `dpkg -i` leaves networkd active, n3xnetd disabled and inactive and
# the kernel as it was; `n3xnetctl render node --out /` (item 3) makes it an n3xnet node
# (n3xnetd enabled, networkd masked) and starting its units brings bonding-vlans up to
# n3xnet-wait-online; n3xnetctl status talks to the daemon through the packaged D-Bus
# policy, the packaged modprobe file applies, `systemctl reload` applies a changed
# profile; installing a newer revision restarts n3xnetd (new invocation) with 0 writes,
# no port flap and the enablement kept; `dpkg -P` leaves the network as it was and
# removes the package's files. n3xnet-report (issue #13) comes with n3xnetd: installed
# disabled and inactive, started by n3xnetd's Wants= and following it, restarted by the
# upgrade, stopped and removed by the purge. Host checks: systemd-package.py.
# The harness boots once: here the units are started by hand; systemd-package-boot
# boots a root that has the package and render node's files from the start.
# @systemd
# @vms     server-1
# @needs   n3xnet.deb
# @timeout 300
DEB=/mnt/bin/n3xnet.deb
# The scenario shell is the initramfs's busybox, whose applets win over the PATH: its own
# dpkg, dpkg-deb and modprobe know neither xz nor modprobe.d. The root's, by path.
DPKG=/usr/bin/dpkg DPKG_DEB=/usr/bin/dpkg-deb MODPROBE=/usr/sbin/modprobe
state() { systemctl show -p "$2" --value "$1"; }

wait_for 60 systemctl is-active --quiet systemd-networkd.service
checkpoint before-install
capture install 0 $DPKG -i "$DEB"
capture installed-networkd 0 systemctl is-active systemd-networkd.service
capture installed-enabled any systemctl is-enabled n3xnetd.service n3xnet-wait-online.service \
  n3xnet-report.service
capture installed-active any systemctl is-active n3xnetd.service n3xnet-report.service
checkpoint after-install
$MODPROBE -c > "$OUT/files/modprobe-c.out"
grep -qx "options bonding max_bonds=0" "$OUT/files/modprobe-c.out" ||
  fail "the packaged modprobe.d file does not apply (modprobe -c)"

# Becoming an n3xnet node: the files render node writes, then what boot would start.
capture render 0 n3xnetctl render node --profile /usr/share/n3xnet/profiles/bonding-vlans.toml \
  --node server-1 --role server --out /
capture daemon-reload 0 systemctl daemon-reload
capture stop-networkd 0 systemctl stop systemd-networkd.service systemd-networkd.socket
capture start 0 systemctl start n3xnetd.service n3xnet-wait-online.service
wait_for 60 systemctl is-active --quiet n3xnet-wait-online.service
wait_for 10 bond_active_is bond0 eth1
wait_for 10 bond_settled bond0
wait_for 10 oper_up bond0.200
wait_for 10 oper_up bond0.100
checkpoint node
capture node-enabled any systemctl is-enabled n3xnetd.service n3xnet-wait-online.service \
  n3xnet-report.service
# The packaged reporter, pulled in by n3xnetd, follows it.
following() {
  systemctl is-active --quiet n3xnet-report.service &&
    grep -q "\"daemonPid\": $(state n3xnetd.service MainPID)," /run/n3xnet-report/report.json
}
wait_for 20 following
capture node-report 0 systemctl show n3xnet-report.service
capture node-networkd any systemctl is-enabled systemd-networkd.service
capture status 0 n3xnetctl status --json
capture introspect 0 busctl introspect io.n3x.Net1 /io/n3x/Net1

# A changed profile, applied by `systemctl reload` (ExecReload= sends SIGHUP).
sed -i 's/^miimon = 100$/miimon = 200/' /etc/n3xnet/profile.toml
grep -qx 'miimon = 200' /etc/n3xnet/profile.toml || fail "the profile has no 'miimon = 100' to change"
capture reload 0 systemctl reload n3xnetd.service
# Applied, not tried: the kernel keeps updelay in miimon ticks, so a new miimon alone
# would leave updelay at 400 ms (verify fails, the apply rolls back miimon).
reloaded() {
  [ "$(cat /sys/class/net/bond0/bonding/miimon)" = 200 ] &&
    [ "$(cat /sys/class/net/bond0/bonding/updelay)" = 200 ] &&
    grep -q '"trigger": "reload"' /run/n3xnet/status.json &&
    grep -q '"outcome": "applied"' /run/n3xnet/status.json
}
wait_for 30 reloaded
capture reloaded-status 0 cat /run/n3xnet/status.json

# An upgrade: the same package as a newer revision.
mkdir -p /tmp/upgrade
$DPKG_DEB -R "$DEB" /tmp/upgrade
sed -i 's/^Version: .*/&+upgrade/' /tmp/upgrade/DEBIAN/control
capture repack 0 $DPKG_DEB --root-owner-group -Zgzip -z1 -b /tmp/upgrade /tmp/n3xnet-upgrade.deb
wait_for 10 bond_settled bond0
invocation=$(state n3xnetd.service InvocationID)
report_invocation=$(state n3xnet-report.service InvocationID)
checkpoint before-upgrade
capture upgrade 0 $DPKG -i /tmp/n3xnet-upgrade.deb
restarted() {
  [ "$(state n3xnetd.service InvocationID)" != "$invocation" ] &&
    systemctl is-active --quiet n3xnetd.service &&
    grep -q '"ready": true' /run/n3xnet/status.json
}
wait_for 60 restarted
report_restarted() {
  [ "$(state n3xnet-report.service InvocationID)" != "$report_invocation" ] && following
}
wait_for 30 report_restarted
capture upgraded-version 0 /usr/bin/dpkg-query -W -f '${Version}' n3xnet
capture upgraded-status 0 cat /run/n3xnet/status.json
capture upgraded-enabled any systemctl is-enabled n3xnetd.service n3xnet-wait-online.service \
  n3xnet-report.service
capture upgraded-report 0 systemctl show n3xnet-report.service
wait_for 10 bond_settled bond0
checkpoint after-upgrade

# Purge: the daemon stops, the network stays, the package's files go.
checkpoint before-purge
capture purge 0 $DPKG -P n3xnet
checkpoint after-purge
capture purged-files any ls -d /usr/sbin/n3xnetd /usr/bin/n3xnetctl /usr/sbin/n3xnet-report \
  /usr/share/dbus-1/system.d/io.n3x.Net1.conf /usr/lib/systemd/system/n3xnetd.service \
  /usr/lib/systemd/system/n3xnet-report.service \
  /usr/lib/modprobe.d/n3xnet.conf /usr/share/n3xnet /var/lib/n3xnet /run/n3xnet-report
capture purged-active any systemctl is-active n3xnetd.service n3xnet-report.service
