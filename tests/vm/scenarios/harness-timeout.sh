# Harness self-test: a guest that never finishes is killed at its @timeout and fails.
# @expect-fail ^timed out after 8s$
# @timeout 8
wait_for 60 false
