# A node booted from an image with the Debian package installed and configured by
# `n3xnetctl render node --out /` (issue #11 items 2 and 3; the boot hook builds that
# root before systemd starts, networkd enabled as on today's images): the boot reaches
# network-online.target through the packaged n3xnetd and n3xnet-wait-online with
# bonding-vlans applied, systemd-networkd masked and never started, n3xnetd running
# the package's binary, and the package's n3xnet-report beside it (n3xnetd's Wants=,
# nothing enabled it). Host checks: systemd-package-boot.py.
# @systemd
# @vms     server-1
# @needs   n3xnet.deb
# @timeout 150
wait_for 60 systemctl is-active --quiet network-online.target
wait_for 20 bond_active_is bond0 eth1
wait_for 10 bond_settled bond0
wait_for 10 oper_up bond0.200
wait_for 10 oper_up bond0.100
checkpoint online
wait_for 20 systemctl is-active --quiet n3xnet-report.service
for u in n3xnetd.service n3xnet-wait-online.service network-online.target \
    systemd-networkd.service n3xnet-report.service; do
  capture "$u" 0 systemctl show "$u"
done
capture exe 0 readlink -f /proc/"$(systemctl show -p MainPID --value n3xnetd.service)"/exe
capture report-exe 0 readlink -f /proc/"$(systemctl show -p MainPID --value n3xnet-report.service)"/exe
capture dpkg-owner 0 /usr/bin/dpkg -S /usr/sbin/n3xnetd
