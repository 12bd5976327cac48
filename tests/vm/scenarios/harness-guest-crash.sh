# Harness self-test: a guest kernel that dies (here: a forced panic) is a failure even
# though QEMU exits cleanly: only the console's VMTEST_RC=0 counts as a pass.
# @expect-fail guest failed \(a: no VMTEST_RC \(qemu exit status 0\)\)
# @timeout 40
echo c > /proc/sysrq-trigger
