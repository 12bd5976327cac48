# Harness self-test: a guest-side assertion failure fails the run and its message
# reaches the report; a request naming a NIC the VM lacks is refused by the host.
# @expect-fail guest failed \(a: VMTEST_RC=1: host refused 'link eth7 down': err no NIC eth7
# @timeout 40
host_link eth7 down
