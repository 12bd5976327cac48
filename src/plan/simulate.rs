//! A model of what the kernel does with each [`Op`]: the planner runs its
//! own ops through it so later steps see their cascades (a deleted parent
//! takes its VLANs along, a bond set down loses its IPv4 routes), and tests
//! use it to check that plans converge and that undo restores the state.
//!
//! The model covers configuration (links, masters, admin state, MTU, bond
//! options, addresses and main-table routes of both families) and the kernel behaviour
//! that n3xnet's plans depend on; runtime status (carrier, operstate, bond
//! port state, MACs a bond gives its ports) is left as it was. Each check
//! names the errno the kernel answers with.

use ipnet::IpNet;

use crate::desired::{DesiredRoute, LinkKind};
use crate::state::{
    Address, KernelState, Link, LinkInfo, OperState, Route, OWNER_ALIAS, OWNER_GROUP,
    OWNER_PROTOCOL,
};

use super::bond;
use super::error::{PlanError, SimError};
use super::op::{BondChange, Op, RouteKey};
use super::topology;

/// `rtm_protocol` of the routes the kernel makes itself (prefix routes).
pub const KERNEL_PROTOCOL: u8 = 2;

/// The MTU the kernel gives a new bond (Ethernet's).
const DEFAULT_MTU: u32 = 1500;

/// Applies `ops` in order, stopping at the first the kernel would refuse.
pub fn apply_all(state: &mut KernelState, ops: &[Op]) -> Result<(), PlanError> {
    ops.iter().try_for_each(|op| {
        apply(state, op).map_err(|source| PlanError::Rejected {
            op: op.to_string(),
            source,
        })
    })
}

/// Applies one operation to `state` as the kernel would, or says why the
/// kernel would refuse it (leaving `state` unchanged then).
///
/// Works in place, without copying the state: every check of an op comes
/// before its first change (a new bond whose options are refused is removed
/// again), so the cost of an op does not grow with the size of the state
/// beyond its lookups; planning and the undo log call this once per op.
pub fn apply(s: &mut KernelState, op: &Op) -> Result<(), SimError> {
    match op {
        Op::CreateLink {
            name,
            kind,
            mtu,
            mac,
        } => create(s, name, kind, *mtu, *mac),
        Op::DeleteLink { name } => {
            link(s, name)?;
            delete(s, name);
            Ok(())
        }
        Op::SetBondOptions { bond, changes } => set_bond_options(s, bond, changes, true),
        Op::SetMacvlanMode { name, mode } => match &mut link_mut(s, name)?.info {
            LinkInfo::Macvlan { mode: m } => {
                *m = mode.as_str().into();
                Ok(())
            }
            other => Err(wrong_kind(name, other, "macvlan")),
        },
        Op::SetUp { name } => {
            let l = link(s, name)?;
            if let (LinkInfo::Vlan { .. }, Some(p)) = (&l.info, &l.parent) {
                if !link(s, p)?.admin_up {
                    return Err(SimError::ParentDown {
                        link: name.clone(),
                        parent: p.clone(),
                    });
                }
            }
            open(s, name);
            Ok(())
        }
        Op::SetDown { name } => {
            link(s, name)?;
            close(s, name);
            Ok(())
        }
        Op::SetMaster { port, bond } => {
            let b = link(s, bond)?;
            if !matches!(b.info, LinkInfo::Bond(_)) {
                return Err(wrong_kind(bond, &b.info, "bond"));
            }
            let bond_mtu = b.mtu;
            // rtnetlink's do_set_master releases a port from its old master
            // first, which closes it; only a port without one must be down.
            if link(s, port)?.master.is_some() {
                release(s, port);
            } else if link(s, port)?.admin_up {
                return Err(SimError::PortUp { port: port.clone() });
            }
            link_mut(s, port)?.master = Some(bond.clone());
            change_mtu(s, port, bond_mtu);
            open(s, port); // bond_enslave opens the port
            Ok(())
        }
        Op::ReleasePort { port } => {
            if link(s, port)?.master.is_none() {
                return Err(SimError::NotEnslaved { port: port.clone() });
            }
            release(s, port);
            Ok(())
        }
        Op::SetMtu { name, mtu } => set_mtu(s, name, *mtu),
        Op::SetAlias { name, alias } => {
            link_mut(s, name)?.alias = alias.clone();
            Ok(())
        }
        Op::DisableIpv6Auto { name } => {
            link_mut(s, name)?.ipv6_link_local_off = true;
            Ok(())
        }
        Op::EnableIpv6Auto { name, .. } => {
            link_mut(s, name)?.ipv6_link_local_off = false;
            Ok(())
        }
        Op::AddAddress { link, address } => add_address(s, added_address(link, *address)),
        Op::RestoreAddress { address } => add_address(s, address.clone()),
        Op::DeleteAddress { link, address } => delete_address(s, link, *address),
        Op::AddRoute { route } => add_route(s, added_route(route), true),
        Op::RestoreRoute { route } => add_route(s, route.clone(), false),
        Op::DeleteRoute { route } => {
            let before = s.routes.len();
            s.routes.retain(|r| !key_matches(r, route));
            if s.routes.len() == before {
                return Err(SimError::NoRoute);
            }
            Ok(())
        }
    }
}

/// The address `AddAddress` gives the kernel: static, marked as n3xnet's.
pub fn added_address(link: &str, address: IpNet) -> Address {
    Address {
        dad: None,
        link: link.to_string(),
        address,
        valid_lifetime: None,
        preferred_lifetime: None,
        protocol: OWNER_PROTOCOL,
    }
}

/// The route `AddRoute` gives the kernel, marked as n3xnet's, as a dump
/// reads it back: an IPv6 one with its metric (1024 when none was
/// written) and scope universe, the only scope IPv6 routes have.
pub fn added_route(r: &DesiredRoute) -> Route {
    let v6 = r.destination.addr().is_ipv6();
    Route {
        destination: r.destination,
        gateway: r.gateway,
        link: Some(r.link.clone()),
        metric: if v6 {
            Some(effective_metric(r.destination, r.metric))
        } else {
            r.metric
        },
        protocol: OWNER_PROTOCOL,
        scope: if r.gateway.is_some() || v6 {
            "universe".into()
        } else {
            "link".into()
        },
    }
}

/// The key that deletes exactly `r`.
pub fn route_key(r: &Route) -> Option<RouteKey> {
    Some(RouteKey {
        destination: r.destination,
        gateway: r.gateway,
        link: r.link.clone()?,
        metric: r.metric,
    })
}

/// The metric the kernel gives an IPv6 route added without one
/// (`IP6_RT_PRIO_USER`; `ip6_route_info_create` turns 0 into it too).
pub const IPV6_DEFAULT_METRIC: u32 = 1024;

/// The metric the kernel holds a route to `destination` under: the one
/// written, else 0 for IPv4 and [`IPV6_DEFAULT_METRIC`] for IPv6. A
/// profile's IPv6 route without a metric and the kernel's copy of it
/// (metric 1024) are the same route: comparing the written metrics instead
/// would rewrite every IPv6 route of an in-sync node.
pub fn effective_metric(destination: IpNet, metric: Option<u32>) -> u32 {
    match (destination, metric) {
        (IpNet::V6(_), None | Some(0)) => IPV6_DEFAULT_METRIC,
        (_, m) => m.unwrap_or(0),
    }
}

/// Routes are unique per destination and metric in a table (the kernel
/// answers EEXIST to `ip route add` of a second one, `NLM_F_EXCL`, in
/// either family); see [`effective_metric`] for a route without one.
pub fn same_slot(a: &Route, destination: IpNet, metric: Option<u32>) -> bool {
    a.destination == destination
        && effective_metric(a.destination, a.metric) == effective_metric(destination, metric)
}

fn key_matches(r: &Route, k: &RouteKey) -> bool {
    same_slot(r, k.destination, k.metric)
        && r.gateway == k.gateway
        && r.link.as_deref() == Some(k.link.as_str())
}

fn link<'a>(s: &'a KernelState, name: &str) -> Result<&'a Link, SimError> {
    s.link(name)
        .ok_or_else(|| SimError::NoLink(name.to_string()))
}

fn link_mut<'a>(s: &'a mut KernelState, name: &str) -> Result<&'a mut Link, SimError> {
    s.links
        .iter_mut()
        .find(|l| l.name == name)
        .ok_or_else(|| SimError::NoLink(name.to_string()))
}

fn wrong_kind(name: &str, found: &LinkInfo, expected: &'static str) -> SimError {
    SimError::WrongKind {
        link: name.to_string(),
        found: found.kind_name().to_string(),
        expected,
    }
}

fn create(
    s: &mut KernelState,
    name: &str,
    kind: &LinkKind,
    mtu: Option<u32>,
    mac: Option<crate::mac::MacAddr>,
) -> Result<(), SimError> {
    if s.link(name).is_some() {
        return Err(SimError::LinkExists(name.to_string()));
    }
    let (info, parent) = match kind {
        LinkKind::Ethernet => return Err(SimError::NotCreatable("ethernet".into())),
        LinkKind::Bond(_) => (LinkInfo::Bond(bond::new_info()), None),
        LinkKind::Vlan { parent, id } => (
            LinkInfo::Vlan {
                id: *id,
                protocol: "802.1Q".into(),
            },
            Some(parent),
        ),
        LinkKind::Macvlan { parent, mode } => (
            LinkInfo::Macvlan {
                mode: mode.as_str().into(),
            },
            Some(parent),
        ),
        LinkKind::Ipvlan { parent, mode } => (
            LinkInfo::Ipvlan {
                mode: mode.as_str().into(),
            },
            Some(parent),
        ),
    };
    let parent_link = parent.map(|p| link(s, p)).transpose()?;
    let mtu = match (mtu, parent_link) {
        (Some(m), Some(p)) if m > p.mtu => {
            return Err(SimError::MtuAboveParent {
                link: name.to_string(),
                mtu: m,
                parent: p.name.clone(),
                parent_mtu: p.mtu,
            })
        }
        (Some(m), _) => m,
        (None, Some(p)) => p.mtu,
        (None, None) => DEFAULT_MTU,
    };
    // VLANs and ipvlans share their parent's MAC; a macvlan's is random.
    let inherited = match kind {
        LinkKind::Vlan { .. } | LinkKind::Ipvlan { .. } => parent_link.and_then(|p| p.mac),
        _ => None,
    };
    s.links.push(Link {
        index: s.links.iter().map(|l| l.index).max().unwrap_or(0) + 1,
        name: name.to_string(),
        info,
        mtu,
        mac: mac.or(inherited),
        permanent_mac: None,
        master: None,
        parent: parent.cloned(),
        admin_up: false,
        carrier: false,
        operstate: OperState::Down,
        alias: Some(OWNER_ALIAS.to_string()),
        group: OWNER_GROUP,
        ipv6_link_local_off: true,
        bond_port: None,
        carrier_down_count: None,
    });
    if let LinkKind::Bond(o) = kind {
        if let Err(e) = set_bond_options(s, name, &BondChange::all_of(o), false) {
            s.links.pop();
            return Err(e);
        }
    }
    Ok(())
}

/// Deletes `name` with everything stacked on it and releases its ports.
fn delete(s: &mut KernelState, name: &str) {
    let ports: Vec<String> = topology::ports(s, name).map(|p| p.name.clone()).collect();
    for p in ports {
        release(s, &p);
    }
    let mut gone = topology::descendants(s, name);
    gone.push(name.to_string());
    s.links.retain(|l| !gone.contains(&l.name));
    s.addresses.retain(|a| !gone.contains(&a.link));
    s.routes
        .retain(|r| !r.link.as_ref().is_some_and(|l| gone.contains(l)));
}

/// `__bond_release_one`: detach and close the port.
fn release(s: &mut KernelState, port: &str) {
    if let Some(p) = s.links.iter_mut().find(|l| l.name == port) {
        p.master = None;
    }
    close(s, port);
}

fn set_bond_options(
    s: &mut KernelState,
    name: &str,
    changes: &[BondChange],
    existing: bool,
) -> Result<(), SimError> {
    let has_ports = topology::ports(s, name).next().is_some();
    let l = link_mut(s, name)?;
    let up = l.admin_up;
    let LinkInfo::Bond(current) = &mut l.info else {
        return Err(wrong_kind(name, &l.info, "bond"));
    };
    // Changed on a copy, so a refused change leaves the bond as it was.
    let mut info = current.clone();
    // bond_changelink applies the mode first, then the rest against it.
    let mut ordered: Vec<&BondChange> = changes.iter().filter(|c| c.needs_no_ports()).collect();
    ordered.extend(changes.iter().filter(|c| !c.needs_no_ports()));
    for c in ordered {
        if existing && c.needs_no_ports() && has_ports {
            return Err(SimError::BondHasPorts {
                bond: name.to_string(),
            });
        }
        if existing && c.needs_bond_down() && up {
            return Err(SimError::BondUp {
                bond: name.to_string(),
                option: c.name(),
            });
        }
        if !bond::supported(&info.mode, c) {
            return Err(SimError::Unsupported {
                option: c.name(),
                mode: info.mode.clone(),
            });
        }
        bond::set(&mut info, c);
    }
    *current = info;
    Ok(())
}

/// `dev_open`: up, prefix routes for its addresses, and (vlan_device_event
/// NETDEV_UP) its VLANs reopened.
fn open(s: &mut KernelState, name: &str) {
    let Some(l) = s.links.iter_mut().find(|l| l.name == name) else {
        return;
    };
    if l.admin_up {
        return;
    }
    l.admin_up = true;
    let prefixes: Vec<Route> = s.addresses_on(name).filter_map(prefix_route).collect();
    for r in prefixes {
        if !s.routes.contains(&r) {
            s.routes.push(r);
        }
    }
    let vlans: Vec<String> = topology::children(s, name)
        .filter(|c| matches!(c.info, LinkInfo::Vlan { .. }))
        .map(|c| c.name.clone())
        .collect();
    for v in vlans {
        open(s, &v);
    }
}

/// `dev_close`: down, every route through it flushed (IPv4:
/// fib_disable_ip; IPv6: rt6_sync_down_dev), and its VLANs closed with it.
fn close(s: &mut KernelState, name: &str) {
    let Some(l) = s.links.iter_mut().find(|l| l.name == name) else {
        return;
    };
    if !l.admin_up {
        return;
    }
    l.admin_up = false;
    s.routes.retain(|r| r.link.as_deref() != Some(name));
    // The kernel also drops the link's IPv6 addresses (`keep_addr_on_down`
    // is 0 by default). Its own (link-local, RA, loopback: `IFA_PROTO`
    // 1-3) come back when the link does; static ones, n3xnet's included,
    // must be added again.
    s.addresses
        .retain(|a| a.link != name || a.address.addr().is_ipv4() || (1..=3).contains(&a.protocol));
    let vlans: Vec<String> = topology::children(s, name)
        .filter(|c| matches!(c.info, LinkInfo::Vlan { .. }))
        .map(|c| c.name.clone())
        .collect();
    for v in vlans {
        close(s, &v);
    }
}

fn set_mtu(s: &mut KernelState, name: &str, mtu: u32) -> Result<(), SimError> {
    let l = link(s, name)?;
    if let Some(p) = &l.parent {
        let parent = link(s, p)?;
        if mtu > parent.mtu {
            return Err(SimError::MtuAboveParent {
                link: name.to_string(),
                mtu,
                parent: p.clone(),
                parent_mtu: parent.mtu,
            });
        }
    }
    change_mtu(s, name, mtu);
    Ok(())
}

/// A link's MTU changes (NETDEV_CHANGEMTU): a bond passes it to its ports
/// (bond_change_mtu), and stacked children above it are clamped down.
fn change_mtu(s: &mut KernelState, name: &str, mtu: u32) {
    let Some(l) = s.links.iter_mut().find(|l| l.name == name) else {
        return;
    };
    l.mtu = mtu;
    let mut follow: Vec<String> = Vec::new();
    if matches!(l.info, LinkInfo::Bond(_)) {
        follow.extend(topology::ports(s, name).map(|p| p.name.clone()));
    }
    follow.extend(
        topology::children(s, name)
            .filter(|c| c.mtu > mtu)
            .map(|c| c.name.clone()),
    );
    for f in follow {
        change_mtu(s, &f, mtu);
    }
}

/// The prefix route an address brings: IPv4 scope link without a metric,
/// IPv6 (`addrconf_prefix_route`) metric 256, every IPv6 route's scope
/// universe.
fn prefix_route(a: &Address) -> Option<Route> {
    let (metric, scope) = match a.address {
        IpNet::V4(_) => (None, "link"),
        IpNet::V6(_) => (Some(IPV6_PREFIX_METRIC), "universe"),
    };
    (a.address.prefix_len() < a.address.max_prefix_len()).then(|| Route {
        destination: a.address.trunc(),
        gateway: None,
        link: Some(a.link.clone()),
        metric,
        protocol: KERNEL_PROTOCOL,
        scope: scope.into(),
    })
}

/// The metric of the prefix route of an IPv6 address
/// (`IP6_RT_PRIO_ADDRCONF`).
const IPV6_PREFIX_METRIC: u32 = 256;

fn add_address(s: &mut KernelState, a: Address) -> Result<(), SimError> {
    let up = link(s, &a.link)?.admin_up;
    if s.addresses
        .iter()
        .any(|x| x.link == a.link && x.address == a.address)
    {
        return Err(SimError::AddressExists {
            link: a.link,
            address: a.address,
        });
    }
    if up {
        if let Some(r) = prefix_route(&a).filter(|r| !s.routes.contains(r)) {
            s.routes.push(r);
        }
    }
    s.addresses.push(a);
    Ok(())
}

fn delete_address(s: &mut KernelState, link: &str, address: IpNet) -> Result<(), SimError> {
    let Some(i) = s
        .addresses
        .iter()
        .position(|a| a.link == link && a.address == address)
    else {
        return Err(SimError::NoAddress {
            link: link.to_string(),
            address,
        });
    };
    let a = s.addresses.remove(i);
    let v4 = |n: &IpNet| n.addr().is_ipv4();
    if v4(&a.address) && !s.addresses_on(link).any(|o| v4(&o.address)) {
        // The last IPv4 address gone: fib_disable_ip flushes the link's
        // IPv4 routes.
        s.routes
            .retain(|r| r.link.as_deref() != Some(link) || !v4(&r.destination));
    } else if let Some(p) = prefix_route(&a) {
        let shared = s
            .addresses_on(link)
            .any(|o| o.address.trunc() == a.address.trunc());
        if !shared {
            s.routes.retain(|r| *r != p);
        }
    }
    Ok(())
}

/// Adds `r`; `check_gateway` is off for `onlink` routes.
fn add_route(s: &mut KernelState, r: Route, check_gateway: bool) -> Result<(), SimError> {
    let Some(dev) = r.link.clone() else {
        return Err(SimError::NoRoute);
    };
    if !link(s, &dev)?.admin_up {
        return Err(SimError::LinkDown(dev));
    }
    if s.routes
        .iter()
        .any(|x| same_slot(x, r.destination, r.metric))
    {
        return Err(SimError::RouteExists {
            destination: r.destination,
            metric: effective_metric(r.destination, r.metric),
        });
    }
    // An IPv6 link-local gateway is on the named link by definition
    // (`ip6_validate_gw` looks no route up for it).
    let link_local =
        |gw: &std::net::IpAddr| matches!(gw, std::net::IpAddr::V6(g) if g.is_unicast_link_local());
    if let Some(gw) = r.gateway.filter(|gw| check_gateway && !link_local(gw)) {
        let on_link = s.routes.iter().any(|x| {
            x.link.as_deref() == Some(dev.as_str())
                && x.gateway.is_none()
                && x.destination.contains(&gw)
        });
        if !on_link {
            return Err(SimError::Unreachable {
                gateway: gw,
                link: dev,
            });
        }
    }
    s.routes.push(r);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::LacpRate;
    use crate::plan::fixture::{foreign_route, synced};

    fn op(s: &mut KernelState, o: Op) -> Result<(), SimError> {
        apply(s, &o)
    }

    fn down(name: &str) -> Op {
        Op::SetDown { name: name.into() }
    }

    fn routes_on(s: &KernelState, link: &str) -> Vec<String> {
        s.routes
            .iter()
            .filter(|r| r.link.as_deref() == Some(link))
            .map(|r| format!("{} {}", r.destination, r.protocol))
            .collect()
    }

    #[test]
    fn enslaving_needs_a_down_port_and_opens_it() {
        let mut s = synced();
        op(
            &mut s,
            Op::SetUp {
                name: "eth3".into(),
            },
        )
        .unwrap();
        let enslave = || Op::SetMaster {
            port: "eth3".into(),
            bond: "bond0".into(),
        };
        assert_eq!(
            op(&mut s, enslave()),
            Err(SimError::PortUp {
                port: "eth3".into()
            })
        );
        op(&mut s, down("eth3")).unwrap();
        op(&mut s, enslave()).unwrap();
        let p = s.link("eth3").unwrap();
        assert!(p.admin_up);
        assert_eq!(p.master.as_deref(), Some("bond0"));
        op(
            &mut s,
            Op::ReleasePort {
                port: "eth3".into(),
            },
        )
        .unwrap();
        assert!(!s.link("eth3").unwrap().admin_up, "release closes the port");
    }

    #[test]
    fn bond_options_follow_the_kernel_flags() {
        let mut s = synced();
        let set = |c: BondChange| Op::SetBondOptions {
            bond: "bond0".into(),
            changes: vec![c],
        };
        op(&mut s, set(BondChange::Miimon(250))).unwrap();
        op(&mut s, set(BondChange::MinLinks(1))).unwrap();
        assert_eq!(
            op(&mut s, set(BondChange::Mode(crate::kinds::BondMode::Lacp))),
            Err(SimError::BondHasPorts {
                bond: "bond0".into()
            })
        );
        assert!(matches!(
            op(
                &mut s,
                set(BondChange::AdSelect(crate::kinds::AdSelect::Count))
            ),
            Err(SimError::BondUp { .. })
        ));
        op(&mut s, down("bond0")).unwrap();
        assert!(matches!(
            op(&mut s, set(BondChange::LacpRate(LacpRate::Fast))),
            Err(SimError::Unsupported {
                option: "lacp_rate",
                ..
            })
        ));
    }

    #[test]
    fn a_refused_op_leaves_the_state_alone() {
        let mut s = synced();
        op(&mut s, down("bond0")).unwrap();
        let before = s.clone();
        let lacp_rate_without_lacp = crate::desired::BondOptions {
            mode: crate::kinds::BondMode::ActiveBackup,
            members: vec![],
            primary: None,
            miimon: 100,
            updelay: 0,
            downdelay: 0,
            primary_reselect: None,
            lacp_rate: Some(LacpRate::Fast),
            xmit_hash_policy: None,
            min_links: 0,
            ad_select: None,
        };
        let refused = [
            Op::SetMtu {
                name: "bond0.100".into(),
                mtu: 9000,
            },
            // Options apply one by one: miimon would, lacp_rate is refused.
            Op::SetBondOptions {
                bond: "bond0".into(),
                changes: vec![
                    BondChange::Miimon(250),
                    BondChange::LacpRate(LacpRate::Fast),
                ],
            },
            // The bond exists until its options are refused.
            Op::CreateLink {
                name: "bond1".into(),
                kind: LinkKind::Bond(lacp_rate_without_lacp),
                mtu: None,
                mac: None,
            },
            Op::SetMaster {
                port: "eth3".into(),
                bond: "nope".into(),
            },
            Op::DeleteRoute {
                route: RouteKey {
                    destination: "10.99.0.0/16".parse().unwrap(),
                    gateway: None,
                    link: "eth0".into(),
                    metric: None,
                },
            },
        ];
        for bad in refused {
            assert!(op(&mut s, bad.clone()).is_err(), "{bad}");
            assert_eq!(s, before, "{bad}");
        }
    }

    #[test]
    fn down_flushes_routes_and_closes_vlans_up_brings_back_prefix_routes_only() {
        let mut s = synced();
        assert_eq!(routes_on(&s, "bond0.100").len(), 2, "prefix + 10.50/16");
        op(&mut s, down("bond0")).unwrap();
        assert!(!s.link("bond0.100").unwrap().admin_up);
        assert!(s.link("mv-storage").unwrap().admin_up, "macvlans stay up");
        assert!(routes_on(&s, "bond0.100").is_empty());
        op(
            &mut s,
            Op::SetUp {
                name: "bond0".into(),
            },
        )
        .unwrap();
        assert!(s.link("bond0.100").unwrap().admin_up);
        assert_eq!(routes_on(&s, "bond0.100"), ["192.168.100.0/24 2"]);
        assert_eq!(
            op(&mut s, down("bond0")).and_then(|()| op(
                &mut s,
                Op::SetUp {
                    name: "bond0.200".into()
                }
            )),
            Err(SimError::ParentDown {
                link: "bond0.200".into(),
                parent: "bond0".into()
            })
        );
    }

    #[test]
    fn lowering_a_parent_mtu_clamps_children_and_a_bond_sets_its_ports() {
        let mut s = synced();
        op(
            &mut s,
            Op::SetMtu {
                name: "bond0".into(),
                mtu: 1400,
            },
        )
        .unwrap();
        for l in ["eth1", "eth2", "bond0.100", "bond0.200", "mv-storage"] {
            assert_eq!(s.link(l).unwrap().mtu, 1400, "{l}");
        }
        op(
            &mut s,
            Op::SetMtu {
                name: "bond0".into(),
                mtu: 9000,
            },
        )
        .unwrap();
        assert_eq!(s.link("eth1").unwrap().mtu, 9000);
        assert_eq!(
            s.link("bond0.100").unwrap().mtu,
            1400,
            "raising does not touch children"
        );
    }

    #[test]
    fn routes_need_an_up_link_a_reachable_gateway_and_a_free_slot() {
        let mut s = synced();
        let add = |dest: &str, gw: &str, link: &str| Op::AddRoute {
            route: DesiredRoute {
                destination: dest.parse().unwrap(),
                gateway: Some(gw.parse().unwrap()),
                link: link.into(),
                metric: None,
            },
        };
        assert!(matches!(
            op(&mut s, add("10.70.0.0/16", "192.168.99.1", "bond0.100")),
            Err(SimError::Unreachable { .. })
        ));
        assert!(matches!(
            op(&mut s, add("10.50.0.0/16", "192.168.200.254", "bond0.200")),
            Err(SimError::RouteExists { .. })
        ));
        op(&mut s, down("bond0.200")).unwrap();
        assert_eq!(
            op(&mut s, add("10.70.0.0/16", "192.168.200.254", "bond0.200")),
            Err(SimError::LinkDown("bond0.200".into()))
        );
    }

    #[test]
    fn deleting_the_last_address_flushes_the_links_routes() {
        let mut s = synced();
        apply(
            &mut s,
            &Op::RestoreRoute {
                route: foreign_route("10.80.0.0/16", None, "bond0.100"),
            },
        )
        .unwrap();
        op(
            &mut s,
            Op::DeleteAddress {
                link: "bond0.100".into(),
                address: "192.168.100.1/24".parse().unwrap(),
            },
        )
        .unwrap();
        assert!(routes_on(&s, "bond0.100").is_empty());
        // Another address keeps the link's routes but drops its own prefix.
        op(
            &mut s,
            Op::DeleteAddress {
                link: "bond0.200".into(),
                address: "192.168.200.1/24".parse().unwrap(),
            },
        )
        .unwrap();
        assert_eq!(
            routes_on(&s, "bond0.200").len(),
            2,
            "VIP prefix + foreign 10.60/16"
        );
    }

    #[test]
    fn deleting_a_parent_takes_its_children_and_releases_ports() {
        let mut s = synced();
        op(
            &mut s,
            Op::DeleteLink {
                name: "bond0".into(),
            },
        )
        .unwrap();
        for gone in ["bond0", "bond0.100", "bond0.200", "mv-storage"] {
            assert!(s.link(gone).is_none(), "{gone}");
        }
        assert!(s.addresses.iter().all(|a| !a.link.starts_with("bond0")));
        let eth1 = s.link("eth1").unwrap();
        assert!(eth1.master.is_none() && !eth1.admin_up);
    }
}
