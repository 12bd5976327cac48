# A kernel without bonding (issue #4: no bonding module): apply must refuse with exit 69
# (kernel lacks a feature) before changing anything, and check must report drift.
# @vms     server-1
# @needs   n3xnetctl
# @nomod   bonding
# @timeout 60
P=profiles/bonding-vlans.toml
checkpoint before
capture apply 69 n3xnetctl apply --json --profile $P
checkpoint after
capture check 1 n3xnetctl check --json --profile $P
