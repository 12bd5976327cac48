# `checkpoint NAME` from outside the scenario shell (busybox sh), e.g. from a unit's
# ExecStartPost=+ in a @systemd guest: the kernel state at that very moment.
# shellcheck shell=sh
set -e
# shellcheck source=/dev/null  # written per VM by tests/vm/run
. /mnt/out/vm.env
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
# shellcheck source=tests/vm/guest/lib.sh
. /mnt/repo/tests/vm/guest/lib.sh
checkpoint "$1"
