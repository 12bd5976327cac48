//! Undo: the operations that give the kernel back the state it had before
//! one operation. `apply` computes the inverse of each op from the state just
//! before it, logs it, and on failure runs the log backwards.
//!
//! Each inverse reverts the op itself, then settles the links it touched
//! (MTU, admin state, routes) against the snapshot, so the kernel's own
//! cascades are undone too: a link set down loses its routes, a released
//! port is closed, a parent's lower MTU clamps its VLANs. Both steps run
//! through the kernel model ([`super::simulate`]), which is what the result
//! is exact against. Ifindexes of recreated links, and runtime state such as
//! carrier, cannot be given back.

use crate::state::{Address, KernelState, Route};

use super::error::PlanError;
use super::kind::kind_of;
use super::op::{BondChange, Op};
use super::region::region;
use super::simulate::{self, added_address, added_route, route_key, KERNEL_PROTOCOL};
use super::{bond, topology};

/// The operations that undo `op`, given the state `before` it ran; an error
/// when the op cannot be undone (or the kernel would refuse it anyway), in
/// which case `apply` must not run it.
///
/// The cost depends on the links the op reaches, not on the whole state: the
/// model runs on the [`region`] of `before` the op and its undo can read or
/// change, which behaves there exactly as the whole state would.
pub fn inverse(op: &Op, before: &KernelState) -> Result<Vec<Op>, PlanError> {
    inverse_on(op, before, |ops, settled| region(before, ops, settled))
}

/// [`inverse`] of each of `ops`, all from the same `before` (the ops of one
/// batch), computed on the [`region`] of `before` the whole batch reaches:
/// one walk of the state per batch instead of one per op, so the undo log of
/// N ops on N links is not quadratic. Exact because a region holds all that
/// its ops and their undo read of the state (their links, what hangs from
/// them, their parents and masters, their addresses and routes and the
/// routes in their slots), so each op's inverse reads the same there.
pub fn inverses(ops: &[&Op], before: &KernelState) -> Result<Vec<Vec<Op>>, PlanError> {
    let reach = region(before, ops, &[]);
    ops.iter().map(|op| inverse(op, &reach)).collect()
}

/// [`inverse`], running the model on `model(ops, settled)`: the state the op
/// and its reversal (`ops`) and the settling of `settled` start from.
fn inverse_on(
    op: &Op,
    before: &KernelState,
    model: impl FnOnce(&[&Op], &[String]) -> KernelState,
) -> Result<Vec<Op>, PlanError> {
    let fail = |reason: String| PlanError::Irreversible {
        op: op.to_string(),
        reason,
    };
    let reverted = revert(op, before);
    // The kernel carries admin state and MTU down to ports and stacked
    // links, so those are settled too, after the link they hang from.
    let mut settled: Vec<String> = Vec::new();
    let mut ops = vec![op];
    if let Ok((undo, touched)) = &reverted {
        for t in touched {
            with_dependents(before, t, &mut settled);
        }
        ops.extend(undo);
    }
    let mut now = model(&ops, &settled);
    simulate::apply(&mut now, op).map_err(|e| fail(format!("the kernel would refuse it: {e}")))?;
    let (mut undo, _) = reverted.map_err(fail)?;
    for u in &undo {
        simulate::apply(&mut now, u).map_err(|e| fail(format!("`{u}` would be refused: {e}")))?;
    }
    undo.extend(settle(&mut now, before, &settled).map_err(fail)?);
    Ok(undo)
}

/// `name`, then its ports and stacked links (each followed by its own).
fn with_dependents(before: &KernelState, name: &str, out: &mut Vec<String>) {
    if out.iter().any(|n| n == name) {
        return;
    }
    out.push(name.to_string());
    let next: Vec<String> = topology::ports(before, name)
        .chain(topology::children(before, name))
        .map(|l| l.name.clone())
        .collect();
    for n in next {
        with_dependents(before, &n, out);
    }
}

/// The ops that revert `op` itself, and the links whose MTU, admin state and
/// routes must then be settled against `before`.
fn revert(op: &Op, before: &KernelState) -> Result<(Vec<Op>, Vec<String>), String> {
    let link = |name: &str| {
        before
            .link(name)
            .ok_or_else(|| format!("no link {name} in the snapshot"))
    };
    Ok(match op {
        Op::CreateLink { name, .. } => (vec![Op::DeleteLink { name: name.clone() }], vec![]),
        Op::DeleteLink { name } => rebuild(before, name)?,
        Op::SetBondOptions {
            bond: name,
            changes,
        } => {
            let crate::state::LinkInfo::Bond(info) = &link(name)?.info else {
                return Err(format!("{name} is not a bond in the snapshot"));
            };
            let old = changes
                .iter()
                .map(|c| bond::old_value(info, c))
                .collect::<Result<Vec<_>, _>>()?;
            // The options go back while the new mode still holds (they were
            // set under it), then the mode.
            let (mode, rest): (Vec<BondChange>, Vec<BondChange>) =
                old.into_iter().partition(BondChange::needs_no_ports);
            let ops = [rest, mode]
                .into_iter()
                .filter(|c| !c.is_empty())
                .map(|changes| Op::SetBondOptions {
                    bond: name.clone(),
                    changes,
                })
                .collect();
            (ops, vec![])
        }
        Op::SetMacvlanMode { name, .. } => {
            let crate::state::LinkInfo::Macvlan { mode } = &link(name)?.info else {
                return Err(format!("{name} is not a macvlan in the snapshot"));
            };
            let mode = mode
                .parse()
                .map_err(|()| format!("unknown macvlan mode {mode:?}"))?;
            (
                vec![Op::SetMacvlanMode {
                    name: name.clone(),
                    mode,
                }],
                vec![],
            )
        }
        Op::SetUp { name } | Op::SetDown { name } => (vec![], vec![name.clone()]),
        Op::SetMaster { port, .. } => {
            let undo = match &link(port)?.master {
                Some(old) => Op::SetMaster {
                    port: port.clone(),
                    bond: old.clone(),
                },
                None => Op::ReleasePort { port: port.clone() },
            };
            (vec![undo], vec![port.clone()])
        }
        Op::ReleasePort { port } => {
            let bond = link(port)?
                .master
                .clone()
                .ok_or_else(|| format!("{port} has no master in the snapshot"))?;
            (
                vec![Op::SetMaster {
                    port: port.clone(),
                    bond,
                }],
                vec![port.clone()],
            )
        }
        Op::SetMtu { name, .. } => (vec![], vec![name.clone()]),
        Op::SetAlias { name, .. } => (
            vec![Op::SetAlias {
                name: name.clone(),
                alias: link(name)?.alias.clone(),
            }],
            vec![],
        ),
        Op::DisableIpv6Auto { name } | Op::EnableIpv6Auto { name, .. } => {
            let l = link(name)?;
            let undo = match (op, l.ipv6_link_local_off) {
                // Undone after the link is back in this admin state.
                (Op::DisableIpv6Auto { .. }, false) => vec![Op::EnableIpv6Auto {
                    name: name.clone(),
                    regenerate: l.admin_up,
                }],
                (Op::EnableIpv6Auto { .. }, true) => {
                    vec![Op::DisableIpv6Auto { name: name.clone() }]
                }
                _ => vec![],
            };
            (undo, vec![])
        }
        Op::AddAddress { link, address } => (
            vec![Op::DeleteAddress {
                link: link.clone(),
                address: *address,
            }],
            vec![link.clone()],
        ),
        Op::RestoreAddress { address: a } => (
            vec![Op::DeleteAddress {
                link: a.link.clone(),
                address: a.address,
            }],
            vec![a.link.clone()],
        ),
        Op::DeleteAddress { link, address } => {
            let a = before
                .addresses
                .iter()
                .find(|a| a.link == *link && a.address == *address)
                .ok_or_else(|| format!("no address {address} on {link} in the snapshot"))?;
            (vec![readd_address(a)], vec![link.clone()])
        }
        Op::AddRoute { route } => (delete_route(&added_route(route))?, vec![]),
        Op::RestoreRoute { route } => (delete_route(route)?, vec![]),
        Op::DeleteRoute { route: key } => {
            let r = before
                .routes
                .iter()
                .find(|r| route_key(r).as_ref() == Some(key))
                .ok_or_else(|| "no such route in the snapshot".to_string())?;
            (vec![readd_route(r)], vec![])
        }
    })
}

/// Recreates `name` and everything the kernel deleted with it, from the
/// snapshot: each link with its MTU, MAC, alias, IPv6 mode and addresses, then the
/// bond's ports enslaved again (admin state and routes are settled after).
fn rebuild(before: &KernelState, name: &str) -> Result<(Vec<Op>, Vec<String>), String> {
    let mut links = vec![name.to_string()];
    links.extend(topology::descendants(before, name));
    let mut ops = Vec::new();
    for n in &links {
        let l = before
            .link(n)
            .ok_or_else(|| format!("no link {n} in the snapshot"))?;
        ops.push(Op::CreateLink {
            name: n.clone(),
            kind: kind_of(before, l)?,
            mtu: Some(l.mtu),
            mac: l.mac,
        });
        if !l.is_owned() {
            // Created with n3xnet's alias; a half-created link had none.
            ops.push(Op::SetAlias {
                name: n.clone(),
                alias: l.alias.clone(),
            });
        }
        if !l.ipv6_link_local_off {
            // Recreated down: the link-local comes with its later `SetUp`.
            ops.push(Op::EnableIpv6Auto {
                name: n.clone(),
                regenerate: false,
            });
        }
        ops.extend(before.addresses_on(n).map(readd_address));
    }
    let ports: Vec<String> = topology::ports(before, name)
        .map(|p| p.name.clone())
        .collect();
    ops.extend(ports.iter().map(|p| Op::SetMaster {
        port: p.clone(),
        bond: name.to_string(),
    }));
    links.extend(ports);
    Ok((ops, links))
}

/// Gives `names` (parents first) back their MTU and admin state from
/// `before`, then the IPv6 addresses and the routes on them that the kernel
/// flushed.
fn settle(
    now: &mut KernelState,
    before: &KernelState,
    names: &[String],
) -> Result<Vec<Op>, String> {
    let mut ops = Vec::new();
    let mut emit = |now: &mut KernelState, op: Op| -> Result<(), String> {
        simulate::apply(now, &op).map_err(|e| format!("`{op}` would be refused: {e}"))?;
        ops.push(op);
        Ok(())
    };
    for name in names {
        let (Some(b), Some(n)) = (before.link(name), now.link(name)) else {
            continue;
        };
        let (mtu, up, was_up) = (b.mtu, n.admin_up, b.admin_up);
        if n.mtu != mtu {
            emit(
                now,
                Op::SetMtu {
                    name: name.clone(),
                    mtu,
                },
            )?;
        }
        if up != was_up {
            let name = name.clone();
            emit(
                now,
                if was_up {
                    Op::SetUp { name }
                } else {
                    Op::SetDown { name }
                },
            )?;
        }
    }
    // IPv6 addresses the kernel dropped with the link (simulate's `close`).
    let dropped: Vec<&Address> = before
        .addresses
        .iter()
        .filter(|a| names.contains(&a.link))
        .filter(|a| {
            !now.addresses
                .iter()
                .any(|x| x.link == a.link && x.address == a.address)
        })
        .collect();
    for a in dropped {
        emit(now, readd_address(a))?;
    }
    let lost: Vec<&Route> = before
        .routes
        .iter()
        .filter(|r| r.protocol != KERNEL_PROTOCOL)
        .filter(|r| r.link.as_ref().is_some_and(|l| names.contains(l)))
        .filter(|r| !now.routes.contains(r))
        .collect();
    for r in lost {
        emit(now, readd_route(r))?;
    }
    Ok(ops)
}

/// `AddAddress` when that recreates `a` exactly, else `RestoreAddress`.
fn readd_address(a: &Address) -> Op {
    if *a == added_address(&a.link, a.address) {
        Op::AddAddress {
            link: a.link.clone(),
            address: a.address,
        }
    } else {
        Op::RestoreAddress { address: a.clone() }
    }
}

/// Routes always come back with `RestoreRoute`: exactly as they were, and
/// with `onlink`, since a route the kernel holds may have a gateway that is
/// no longer inside the link's subnets (an address went while another
/// stayed), which a plain add would refuse.
fn readd_route(r: &Route) -> Op {
    Op::RestoreRoute { route: r.clone() }
}

fn delete_route(r: &Route) -> Result<Vec<Op>, String> {
    let route = route_key(r).ok_or_else(|| "a route without a link".to_string())?;
    Ok(vec![Op::DeleteRoute { route }])
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::desired::LinkKind;
    use crate::kinds::{BondMode, LacpRate, MacvlanMode};
    use crate::plan::fixture::{foreign_address, foreign_route, normalized, synced};

    fn after(s: &KernelState, ops: &[Op]) -> KernelState {
        let mut t = s.clone();
        simulate::apply_all(&mut t, ops).unwrap();
        t
    }

    /// Runs `op`, then its inverse, and requires the state to be back.
    fn round_trip(s: &KernelState, op: &Op) -> Vec<Op> {
        let undo = inverse(op, s).unwrap_or_else(|e| panic!("{e}"));
        let mut t = after(s, std::slice::from_ref(op));
        simulate::apply_all(&mut t, &undo).unwrap_or_else(|e| panic!("{op}: {e}"));
        assert_eq!(normalized(&t), normalized(s), "{op}, undone by {undo:#?}");
        undo
    }

    fn tag(op: &Op) -> String {
        serde_json::to_value(op).unwrap()["op"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn set_down(name: &str) -> Op {
        Op::SetDown { name: name.into() }
    }

    #[test]
    fn every_kind_of_op_is_undone_exactly() {
        let s = synced();
        let emptied = after(
            &s,
            &[
                Op::ReleasePort {
                    port: "eth1".into(),
                },
                Op::ReleasePort {
                    port: "eth2".into(),
                },
                set_down("bond0"),
            ],
        );
        let with_bond1 = after(
            &s,
            &[Op::CreateLink {
                name: "bond1".into(),
                kind: LinkKind::Bond(crate::desired::BondOptions {
                    mode: BondMode::ActiveBackup,
                    members: vec![],
                    primary: None,
                    miimon: 100,
                    updelay: 0,
                    downdelay: 0,
                    primary_reselect: None,
                    lacp_rate: None,
                    xmit_hash_policy: None,
                    min_links: 0,
                    ad_select: None,
                }),
                mtu: None,
                mac: None,
            }],
        );
        let storage_down = after(&s, &[set_down("bond0.100")]);
        let half_created = after(
            &s,
            &[Op::SetAlias {
                name: "mv-storage".into(),
                alias: None,
            }],
        );
        let bond_down = after(&s, &[set_down("bond0")]);
        let net = |a: &str| a.parse().unwrap();
        let cases: Vec<(&KernelState, Op)> = vec![
            (
                &s,
                Op::CreateLink {
                    name: "bond0.300".into(),
                    kind: LinkKind::Vlan {
                        parent: "bond0".into(),
                        id: 300,
                    },
                    mtu: None,
                    mac: None,
                },
            ),
            (
                &s,
                Op::DeleteLink {
                    name: "bond0".into(),
                },
            ),
            (
                &s,
                Op::DeleteLink {
                    name: "bond0.100".into(),
                },
            ),
            (
                &half_created,
                Op::DeleteLink {
                    name: "bond0.100".into(),
                },
            ),
            (
                &s,
                Op::SetBondOptions {
                    bond: "bond0".into(),
                    changes: vec![
                        BondChange::Miimon(250),
                        BondChange::Primary(Some("eth2".into())),
                    ],
                },
            ),
            (
                &emptied,
                Op::SetBondOptions {
                    bond: "bond0".into(),
                    changes: vec![
                        BondChange::Mode(BondMode::Lacp),
                        BondChange::LacpRate(LacpRate::Fast),
                    ],
                },
            ),
            (
                &s,
                Op::SetMacvlanMode {
                    name: "mv-storage".into(),
                    mode: MacvlanMode::Private,
                },
            ),
            (
                &storage_down,
                Op::SetUp {
                    name: "bond0.100".into(),
                },
            ),
            (
                &bond_down,
                Op::SetUp {
                    name: "bond0".into(),
                },
            ),
            (
                &s,
                Op::SetUp {
                    name: "bond0".into(),
                },
            ),
            (&s, set_down("bond0")),
            (&storage_down, set_down("bond0")),
            (&s, set_down("eth1")),
            (
                &s,
                Op::SetMaster {
                    port: "eth3".into(),
                    bond: "bond0".into(),
                },
            ),
            (
                &with_bond1,
                Op::SetMaster {
                    port: "eth2".into(),
                    bond: "bond1".into(),
                },
            ),
            (
                &s,
                Op::ReleasePort {
                    port: "eth2".into(),
                },
            ),
            (
                &s,
                Op::SetMtu {
                    name: "bond0".into(),
                    mtu: 1400,
                },
            ),
            (
                &s,
                Op::SetMtu {
                    name: "bond0".into(),
                    mtu: 9000,
                },
            ),
            (
                &s,
                Op::SetAlias {
                    name: "mv-storage".into(),
                    alias: None,
                },
            ),
            (
                &s,
                Op::SetAlias {
                    name: "eth3".into(),
                    alias: Some("n3xnet".into()),
                },
            ),
            (
                &s,
                Op::DisableIpv6Auto {
                    name: "eth3".into(),
                },
            ),
            (
                &s,
                Op::EnableIpv6Auto {
                    name: "eth1".into(),
                    regenerate: true,
                },
            ),
            (
                &s,
                Op::AddAddress {
                    link: "bond0.200".into(),
                    address: net("192.168.201.1/24"),
                },
            ),
            (
                &s,
                Op::DeleteAddress {
                    link: "bond0.200".into(),
                    address: net("192.168.200.1/24"),
                },
            ),
            (
                &s,
                Op::DeleteAddress {
                    link: "bond0.200".into(),
                    address: net("192.168.200.99/24"),
                },
            ),
            (
                &s,
                Op::DeleteAddress {
                    link: "bond0.100".into(),
                    address: net("192.168.100.1/24"),
                },
            ),
            (
                &s,
                Op::RestoreAddress {
                    address: foreign_address("bond0.100", "192.168.100.77/24"),
                },
            ),
            (
                &s,
                Op::AddRoute {
                    route: crate::desired::DesiredRoute {
                        destination: "10.70.0.0/16".parse().unwrap(),
                        gateway: Some("192.168.200.254".parse().unwrap()),
                        link: "bond0.200".into(),
                        metric: None,
                    },
                },
            ),
            (
                &s,
                Op::RestoreRoute {
                    route: foreign_route("10.80.0.0/16", None, "bond0.100"),
                },
            ),
        ];
        let mut kinds: BTreeSet<String> = cases.iter().map(|(_, op)| tag(op)).collect();
        for (state, op) in &cases {
            round_trip(state, op);
        }
        // Deleting routes needs the exact key of an existing route.
        for r in s
            .routes
            .iter()
            .filter(|r| r.protocol != simulate::KERNEL_PROTOCOL)
        {
            let op = Op::DeleteRoute {
                route: route_key(r).unwrap(),
            };
            kinds.insert(tag(&op));
            round_trip(&s, &op);
        }
        let all = [
            "create-link",
            "delete-link",
            "set-bond-options",
            "set-macvlan-mode",
            "set-up",
            "set-down",
            "set-master",
            "release-port",
            "set-mtu",
            "set-alias",
            "disable-ipv6-auto",
            "enable-ipv6-auto",
            "add-address",
            "delete-address",
            "restore-address",
            "add-route",
            "delete-route",
            "restore-route",
        ];
        assert_eq!(kinds, all.iter().map(|k| k.to_string()).collect());
    }

    /// Every op on every link, address and route of `s` (most of them
    /// refused somewhere), plus route adds into taken and free slots.
    fn ops_on(s: &KernelState) -> Vec<Op> {
        let mut ops = Vec::new();
        for l in &s.links {
            let name = l.name.clone();
            ops.extend([
                Op::SetUp { name: name.clone() },
                set_down(&name),
                Op::SetMtu {
                    name: name.clone(),
                    mtu: 1400,
                },
                Op::SetMtu {
                    name: name.clone(),
                    mtu: 9000,
                },
                Op::DeleteLink { name: name.clone() },
                Op::ReleasePort { port: name.clone() },
                Op::SetAlias {
                    name: name.clone(),
                    alias: None,
                },
                Op::EnableIpv6Auto {
                    name: name.clone(),
                    regenerate: false,
                },
                Op::AddAddress {
                    link: name.clone(),
                    address: "192.168.200.7/24".parse().unwrap(),
                },
                Op::CreateLink {
                    name: format!("{name}.9"),
                    kind: LinkKind::Vlan {
                        parent: name.clone(),
                        id: 9,
                    },
                    mtu: Some(1500),
                    mac: None,
                },
                Op::AddRoute {
                    route: crate::desired::DesiredRoute {
                        destination: "10.50.0.0/16".parse().unwrap(),
                        gateway: None,
                        link: name.clone(),
                        metric: None,
                    },
                },
            ]);
        }
        // The kernel refuses to enslave a bond to itself (the model loops).
        ops.extend(
            s.links
                .iter()
                .filter(|l| l.name != "bond0")
                .map(|l| Op::SetMaster {
                    port: l.name.clone(),
                    bond: "bond0".into(),
                }),
        );
        ops.extend(s.addresses.iter().map(|a| Op::DeleteAddress {
            link: a.link.clone(),
            address: a.address,
        }));
        for r in &s.routes {
            ops.extend(route_key(r).map(|route| Op::DeleteRoute { route }));
            ops.push(Op::RestoreRoute { route: r.clone() });
        }
        ops
    }

    #[test]
    fn the_region_models_every_op_as_the_whole_state_does() {
        let s = synced();
        let states = [
            after(&s, &[set_down("bond0.100")]),
            after(&s, &[set_down("bond0")]),
            after(
                &s,
                &[
                    Op::ReleasePort {
                        port: "eth1".into(),
                    },
                    Op::ReleasePort {
                        port: "eth2".into(),
                    },
                ],
            ),
            s,
        ];
        let (mut accepted, mut refused) = (0, 0);
        for state in &states {
            for op in ops_on(state) {
                let whole = inverse_on(&op, state, |_, _| state.clone());
                assert_eq!(inverse(&op, state), whole, "{op}");
                if whole.is_ok() {
                    accepted += 1;
                } else {
                    refused += 1;
                }
            }
        }
        assert!(accepted > 100 && refused > 100, "{accepted} {refused}");
    }

    #[test]
    fn the_inverses_of_a_batch_are_those_of_each_op_on_the_whole_state() {
        let s = synced();
        let states = [after(&s, &[set_down("bond0")]), s];
        for state in &states {
            let ops = ops_on(state);
            let each: Vec<_> = ops.iter().map(|op| inverse(op, state)).collect();
            // Alone (the smallest region each) and in batches of a few.
            for size in [1, 3, 7] {
                for (batch, want) in ops.chunks(size).zip(each.chunks(size)) {
                    let batch: Vec<&Op> = batch.iter().collect();
                    let want: Result<Vec<_>, _> = want.iter().cloned().collect();
                    match (inverses(&batch, state), want) {
                        (Ok(got), Ok(want)) => assert_eq!(got, want, "{batch:?}"),
                        // The first refusal of the batch, as op by op.
                        (got, want) => assert_eq!(got.err(), want.err(), "{batch:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn undo_of_set_down_restores_flushed_routes_and_vlans_that_were_down() {
        let s = synced();
        let storage_down = after(&s, &[set_down("bond0.100")]);
        let undo = round_trip(&storage_down, &set_down("bond0"));
        let text: Vec<String> = undo.iter().map(Op::to_string).collect();
        assert_eq!(
            text,
            [
                "set bond0 up",
                "set bond0.100 down",
                "restore route 10.60.0.0/16 via 192.168.200.254 dev bond0.200 metric 100 proto 4 scope universe",
            ]
        );
        let undo = round_trip(&s, &set_down("bond0"));
        assert!(undo.iter().any(|o| o.to_string()
            == "restore route 10.50.0.0/16 via 192.168.100.254 dev bond0.100 proto 110 scope universe"));
    }

    #[test]
    fn undo_of_deleting_a_bond_rebuilds_its_tree_and_foreign_addresses() {
        let s = synced();
        let undo = round_trip(
            &s,
            &Op::DeleteLink {
                name: "bond0".into(),
            },
        );
        let text: Vec<String> = undo.iter().map(Op::to_string).collect();
        for want in [
            "create bond0 bond mode active-backup miimon 100 updelay 200 downdelay 200 primary eth1 \
             primary_reselect always xmit_hash_policy layer2 min_links 0 ad_select stable mtu 1500 \
             address 52:54:00:12:34:03",
            "create mv-storage macvlan bridge on bond0.100 mtu 1500",
            "restore address 192.168.200.99/24 dev bond0.200 proto 0 valid_lft 3600 preferred_lft 3600",
            "set eth1 master bond0",
            "set eth2 master bond0",
        ] {
            assert!(text.iter().any(|t| t == want), "{want:?} not in {text:#?}");
        }
    }

    #[test]
    fn undo_of_mode_change_restores_options_before_the_mode() {
        let s = synced();
        let emptied = after(
            &s,
            &[
                Op::ReleasePort {
                    port: "eth1".into(),
                },
                Op::ReleasePort {
                    port: "eth2".into(),
                },
                set_down("bond0"),
            ],
        );
        let undo = round_trip(
            &emptied,
            &Op::SetBondOptions {
                bond: "bond0".into(),
                changes: vec![
                    BondChange::Mode(BondMode::Lacp),
                    BondChange::LacpRate(LacpRate::Fast),
                ],
            },
        );
        let text: Vec<String> = undo.iter().map(Op::to_string).collect();
        assert_eq!(
            text,
            ["set bond0 lacp_rate slow", "set bond0 mode active-backup"]
        );
    }

    #[test]
    fn undo_of_lowering_a_parent_mtu_raises_the_clamped_children_back() {
        let s = synced();
        let undo = round_trip(
            &s,
            &Op::SetMtu {
                name: "bond0".into(),
                mtu: 1400,
            },
        );
        let text: Vec<String> = undo.iter().map(Op::to_string).collect();
        assert_eq!(text[0], "set bond0 mtu 1500");
        assert!(
            text.contains(&"set mv-storage mtu 1500".to_string()),
            "{text:?}"
        );
    }

    #[test]
    fn ops_that_cannot_be_undone_are_refused() {
        let s = synced();
        let refused = [
            Op::CreateLink {
                name: "eth1".into(),
                kind: LinkKind::Vlan {
                    parent: "eth0".into(),
                    id: 5,
                },
                mtu: None,
                mac: None,
            },
            Op::DeleteLink {
                name: "eth0".into(),
            },
            Op::DeleteRoute {
                route: crate::plan::RouteKey {
                    destination: "10.99.0.0/16".parse().unwrap(),
                    gateway: None,
                    link: "eth0".into(),
                    metric: None,
                },
            },
            Op::ReleasePort {
                port: "eth3".into(),
            },
        ];
        for op in refused {
            let e = inverse(&op, &s).unwrap_err();
            assert!(matches!(e, PlanError::Irreversible { .. }), "{op}: {e}");
        }
    }
}
