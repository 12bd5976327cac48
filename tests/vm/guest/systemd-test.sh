# The scenario driver of @systemd guests (ExecStart of n3x-test.service, written by
# systemd-root.sh; the initramfs's static busybox sh): runs the scenario exactly as
# runner.sh does in the busybox guests, reports VMTEST_RC on the console and powers
# off at once (the result is on the console and the 9p share already).
# shellcheck shell=sh
echo "systemd-test: systemd $(systemctl is-system-running 2>/dev/null); uptime $(cut -d' ' -f1 /proc/uptime)s"
/usr/local/lib/n3x/busybox sh /mnt/repo/tests/vm/guest/runner.sh
rc=$?
sync
echo
echo "VMTEST_RC=$rc"
/usr/local/lib/n3x/busybox poweroff -f
