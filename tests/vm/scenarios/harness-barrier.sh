# Harness self-test: a barrier that can no longer complete (the other VM has exited)
# is answered with an error instead of hanging until the timeout.
# @vms a b
# @expect-fail guest failed \(a: VMTEST_RC=1: host refused 'barrier x': err barrier x: VM b has exited
# @timeout 40
if [ "$VM_NAME" = a ]; then
  barrier x
fi
