# Sets up a test VM (run by /init from the repo share, so editing it needs no initramfs
# rebuild), then runs the scenario: `set -e`, tests/vm/guest/lib.sh, then
# tests/vm/scenarios/$VM_SCENARIO.sh, all in one busybox sh. Exit status = the result.
# shellcheck shell=sh
set -u
# shellcheck source=/dev/null  # written per VM by tests/vm/run
. /mnt/out/vm.env
export PATH=/mnt/bin:/sbin:/bin:/usr/sbin:/usr/bin HOME=/root
export VM_NAME VM_INDEX VM_VMS VM_ARCH VM_SCENARIO VM_NICS
hostname "$VM_NAME"
mkdir -p /mnt/out/ctl /mnt/out/cp /mnt/out/files /var/run /var/lib
ln -sf /proc/mounts /etc/mtab

# shellcheck source=tests/vm/guest/nics.sh
. /mnt/repo/tests/vm/guest/nics.sh
ip2 link set lo up

cd /mnt/repo
echo "runner: VM $VM_NAME ($VM_ARCH) starts scenario $VM_SCENARIO; uptime $(cut -d' ' -f1 /proc/uptime)s"
(
  set -e
  # shellcheck source=/dev/null  # tests/vm/guest/lib.sh, relative to the repo share
  . tests/vm/guest/lib.sh
  # shellcheck source=/dev/null
  . "tests/vm/scenarios/$VM_SCENARIO.sh"
)
rc=$?
echo "runner: scenario $VM_SCENARIO on $VM_NAME ended with status $rc; uptime $(cut -d' ' -f1 /proc/uptime)s"
exit $rc
