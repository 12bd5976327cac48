//! Undo: the operations that give the kernel back the state it had before
//! one operation. `apply` computes the inverse of each op from the state just
//! before it, logs it, and on failure runs the log backwards.
//!
//! Each inverse reverts the op itself, then settles the links it touched
//! (MTU, admin state, IPv4 routes) against the snapshot, so the kernel's own
//! cascades are undone too: a link set down loses its routes, a released
//! port is closed, a parent's lower MTU clamps its VLANs. Both steps run
//! through the kernel model ([`super::simulate`]), which is what the result
//! is exact against. Ifindexes of recreated links, and runtime state such as
//! carrier, cannot be given back.

use crate::desired::DesiredRoute;
use crate::state::{Address, KernelState, Route};

use super::error::PlanError;
use super::kind::kind_of;
use super::op::{BondChange, Op};
use super::simulate::{self, added_address, added_route, route_key, KERNEL_PROTOCOL};
use super::{bond, topology};

/// The operations that undo `op`, given the state `before` it ran; an error
/// when the op cannot be undone (or the kernel would refuse it anyway), in
/// which case `apply` must not run it.
pub fn inverse(op: &Op, before: &KernelState) -> Result<Vec<Op>, PlanError> {
    let fail = |reason: String| PlanError::Irreversible {
        op: op.to_string(),
        reason,
    };
    let mut now = before.clone();
    simulate::apply(&mut now, op).map_err(|e| fail(format!("the kernel would refuse it: {e}")))?;
    let (mut undo, touched) = revert(op, before).map_err(fail)?;
    for u in &undo {
        simulate::apply(&mut now, u).map_err(|e| fail(format!("`{u}` would be refused: {e}")))?;
    }
    undo.extend(settle(&mut now, before, &touched).map_err(fail)?);
    Ok(undo)
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
        Op::SetUp { name } | Op::SetDown { name } => {
            let mut touched = vec![name.clone()];
            touched.extend(topology::vlan_descendants(before, name));
            (vec![], touched)
        }
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
        Op::SetMtu { name, .. } => {
            let mut touched = vec![name.clone()];
            touched.extend(topology::ports(before, name).map(|p| p.name.clone()));
            touched.extend(topology::descendants(before, name));
            (vec![], touched)
        }
        Op::DisableIpv6Auto { name } | Op::EnableIpv6Auto { name } => {
            let undo = match (op, link(name)?.ipv6_link_local_off) {
                (Op::DisableIpv6Auto { .. }, false) => {
                    vec![Op::EnableIpv6Auto { name: name.clone() }]
                }
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
/// snapshot: each link with its MTU, MAC, IPv6 mode and addresses, then the
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
        if !l.ipv6_link_local_off {
            ops.push(Op::EnableIpv6Auto { name: n.clone() });
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
/// `before`, then the routes through them that the kernel flushed.
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

/// `AddRoute` when that recreates `r` exactly, else `RestoreRoute`.
fn readd_route(r: &Route) -> Op {
    let as_desired = r.link.as_ref().map(|link| DesiredRoute {
        destination: r.destination,
        gateway: r.gateway,
        link: link.clone(),
        metric: r.metric,
    });
    match as_desired {
        Some(route) if added_route(&route) == *r => Op::AddRoute { route },
        _ => Op::RestoreRoute { route: r.clone() },
    }
}

fn delete_route(r: &Route) -> Result<Vec<Op>, String> {
    let route = route_key(r).ok_or_else(|| "a route without a link".to_string())?;
    Ok(vec![Op::DeleteRoute { route }])
}
