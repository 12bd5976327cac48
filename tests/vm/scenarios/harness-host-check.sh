# Harness self-test: a host-side assertion on a checkpoint fails the run (eth1 is down
# and has no address; harness-host-check.py expects one). Also proves @mac.
# @expect-fail host check: a@start: .*eth1 IPv4: expected \['10\.9\.9\.9/24'\], got \[\]
# @timeout 40
# @mac     a.eth1 52:54:00:01:01:01
checkpoint start
