# Harness self-test: a host-side assertion on a checkpoint fails the run (eth1 is down
# and has no address; harness-host-check.py expects one).
# @expect-fail host check: a@start: .*eth1 IPv4: expected \['10\.9\.9\.9/24'\], got \[\]
# @timeout 40
checkpoint start
