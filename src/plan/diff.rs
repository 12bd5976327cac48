//! The planner: the minimal ordered list of operations that turns the
//! kernel's state into the desired network.
//!
//! It works in phases — remove what must go, lower MTUs children first,
//! create and configure links parents first, then addresses, then routes —
//! and runs every operation it emits through the kernel model
//! ([`super::simulate`]), so each later decision sees the cascades of the
//! earlier ones (a recreated VLAN's routes are gone, a bond taken down for a
//! mode change has lost its IPv4 routes) and every plan is one the kernel
//! accepts in order. A state that already matches gives an empty plan: no
//! netlink write, no bond port bounced.

use std::fmt;

use serde::Serialize;

use crate::desired::{BondOptions, DesiredNetwork, LinkKind};
use crate::mac::MacAddr;
use crate::state::{KernelState, Link, LinkInfo, OWNER_ALIAS};

use super::error::PlanError;
use super::op::{BondChange, Op};
use super::simulate::{self, route_key};
use super::target::{self, Target, TargetLink};
use super::{bond, topology};

/// An ordered list of operations; empty when the kernel is in sync.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Plan {
    pub ops: Vec<Op>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// One operation per line.
impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.ops.iter().try_for_each(|op| writeln!(f, "{op}"))
    }
}

/// Plans the operations that turn `current` into `desired`.
pub fn plan(desired: &DesiredNetwork, current: &KernelState) -> Result<Plan, PlanError> {
    let target = Target::new(desired);
    validate(&target, current)?;
    let mut p = Planner {
        target: &target,
        current,
        model: current.clone(),
        ops: Vec::new(),
    };
    p.remove_stale()?;
    p.lower_mtus()?;
    for t in &target.links {
        p.ensure_link(t)?;
    }
    p.add_addresses()?;
    p.add_routes()?;
    tracing::debug!(node = %desired.node, ops = p.ops.len(), "planned");
    Ok(Plan { ops: p.ops })
}

/// Refuses what n3xnet must not or cannot do, before planning anything.
fn validate(target: &Target<'_>, current: &KernelState) -> Result<(), PlanError> {
    for t in &target.links {
        match current.link(t.name) {
            None if matches!(t.kind, LinkKind::Ethernet) => {
                return Err(PlanError::MissingNic {
                    name: t.name.to_string(),
                })
            }
            None => {}
            Some(l) => {
                let replaceable = target.owns(l) && !matches!(t.kind, LinkKind::Ethernet);
                if !target::same_kind(t, l) && !replaceable {
                    return Err(PlanError::KindConflict {
                        link: t.name.to_string(),
                        found: l.kind_name().to_string(),
                        desired: t.kind_name().to_string(),
                    });
                }
                if let Some(m) = l.master.as_deref() {
                    if Some(m) != t.master && !target.manages_master(current, m) {
                        return Err(PlanError::ForeignMaster {
                            port: t.name.to_string(),
                            master: m.to_string(),
                            desired: t.master.map(str::to_string),
                        });
                    }
                }
            }
        }
        if let Some(parent) = t.parent() {
            if !target.declares(parent) && current.link(parent).is_none() {
                return Err(PlanError::MissingParent {
                    link: t.name.to_string(),
                    parent: parent.to_string(),
                });
            }
        }
    }
    Ok(())
}

struct Planner<'a> {
    target: &'a Target<'a>,
    /// The state as read, for facts the plan must not change (MACs).
    current: &'a KernelState,
    /// The state as it will be after the ops emitted so far.
    model: KernelState,
    ops: Vec<Op>,
}

impl Planner<'_> {
    fn emit(&mut self, op: Op) -> Result<(), PlanError> {
        simulate::apply(&mut self.model, &op).map_err(|source| PlanError::Rejected {
            op: op.to_string(),
            source,
        })?;
        self.ops.push(op);
        Ok(())
    }

    fn model_link(&self, name: &str) -> Option<&Link> {
        self.model.link(name)
    }

    /// Owned links no longer declared and declared links that cannot be
    /// changed in place go, with their stale routes, addresses and ports.
    fn remove_stale(&mut self) -> Result<(), PlanError> {
        let doomed = self.doomed_links()?;
        let survives = |link: Option<&str>| !link.is_some_and(|l| doomed.iter().any(|d| d == l));

        let routes: Vec<Op> = self
            .model
            .routes
            .iter()
            .filter(|r| self.target.stale_route(r) && survives(r.link.as_deref()))
            .filter_map(route_key)
            .map(|route| Op::DeleteRoute { route })
            .collect();
        let addresses: Vec<Op> = self
            .model
            .addresses
            .iter()
            .filter(|a| self.target.stale_address(a) && survives(Some(&a.link)))
            .map(|a| Op::DeleteAddress {
                link: a.link.clone(),
                address: a.address,
            })
            .collect();
        let releases: Vec<Op> = self
            .model
            .links
            .iter()
            .filter(|p| {
                p.master.as_deref().is_some_and(|m| {
                    self.target.manages_master(self.current, m)
                        && (self.target.master_of(&p.name) != Some(m) || !survives(Some(m)))
                })
            })
            .map(|p| Op::ReleasePort {
                port: p.name.clone(),
            })
            .collect();
        for op in routes.into_iter().chain(addresses).chain(releases) {
            self.emit(op)?;
        }
        for name in doomed {
            self.emit(Op::DeleteLink { name })?;
        }
        Ok(())
    }

    /// The links to delete, children before parents: owned links no longer
    /// declared, declared links to recreate, and everything stacked on them.
    fn doomed_links(&self) -> Result<Vec<String>, PlanError> {
        let cur = &self.model;
        let mut doomed: Vec<String> = cur
            .links
            .iter()
            .filter(|l| {
                self.target.stale_link(l)
                    || self
                        .target
                        .link(&l.name)
                        .is_some_and(|t| target::needs_recreate(t, l))
            })
            .map(|l| l.name.clone())
            .collect();
        for root in doomed.clone() {
            for d in topology::descendants(cur, &root) {
                let Some(l) = cur.link(&d) else { continue };
                if !l.is_owned() && !self.target.declares(&d) {
                    return Err(PlanError::ForeignDependent {
                        link: root,
                        dependent: d,
                        kind: l.kind_name().to_string(),
                    });
                }
                if !doomed.contains(&d) {
                    doomed.push(d);
                }
            }
        }
        // Stable sort by depth, deepest first; ties keep the kernel's order.
        let position = |n: &str| cur.links.iter().position(|l| l.name == n);
        doomed.sort_by_key(|n| (std::cmp::Reverse(topology::depth(cur, n)), position(n)));
        Ok(doomed)
    }

    /// The kernel refuses a child MTU above its parent's, so lowering goes
    /// children first, before anything is raised or created.
    fn lower_mtus(&mut self) -> Result<(), PlanError> {
        for t in self.target.links.iter().rev() {
            let Some(mtu) = t.mtu else { continue };
            if self.model_link(t.name).is_some_and(|l| l.mtu > mtu) {
                self.emit(Op::SetMtu {
                    name: t.name.to_string(),
                    mtu,
                })?;
            }
        }
        Ok(())
    }

    /// Creates or reconfigures one link (its parent is done already), brings
    /// it up, and for a bond enslaves its ports.
    fn ensure_link(&mut self, t: &TargetLink<'_>) -> Result<(), PlanError> {
        match self.model_link(t.name) {
            None => {
                let mac = match t.kind {
                    LinkKind::Bond(o) => self.bond_mac(o),
                    _ => None,
                };
                self.emit(Op::CreateLink {
                    name: t.name.to_string(),
                    kind: t.kind.clone(),
                    mtu: t.mtu,
                    mac,
                })?;
            }
            Some(l) => {
                let ipv6_on = !l.ipv6_link_local_off;
                let raise = t.mtu.filter(|&m| m > l.mtu);
                // In place, not deleted and created again: one write, and
                // nothing someone stacked on or added to it meanwhile lost.
                let unmarked = self.target.half_created(l);
                match (t.kind, &l.info) {
                    (LinkKind::Bond(o), LinkInfo::Bond(_)) => self.reconfigure_bond(t.name, o)?,
                    (LinkKind::Macvlan { mode, .. }, LinkInfo::Macvlan { mode: cur })
                        if mode.as_str() != cur =>
                    {
                        self.emit(Op::SetMacvlanMode {
                            name: t.name.to_string(),
                            mode: *mode,
                        })?
                    }
                    _ => {}
                }
                if unmarked {
                    self.emit(Op::SetAlias {
                        name: t.name.to_string(),
                        alias: Some(OWNER_ALIAS.to_string()),
                    })?;
                }
                if ipv6_on {
                    self.emit(Op::DisableIpv6Auto {
                        name: t.name.to_string(),
                    })?;
                }
                if let Some(mtu) = raise {
                    self.emit(Op::SetMtu {
                        name: t.name.to_string(),
                        mtu,
                    })?;
                }
            }
        }
        let l = self.model_link(t.name);
        let awaits_enslaving =
            t.master.is_some() && l.and_then(|l| l.master.as_deref()) != t.master;
        if l.is_some_and(|l| !l.admin_up) && !awaits_enslaving {
            self.emit(Op::SetUp {
                name: t.name.to_string(),
            })?;
        }
        if matches!(t.kind, LinkKind::Bond(_)) {
            for port in self.target.ports_of(t.name) {
                self.ensure_port(port, t.name)?;
            }
        }
        Ok(())
    }

    /// Options change in place where the kernel allows; otherwise the bond
    /// goes down for the change, and a mode change first releases the ports
    /// (they are enslaved again right after, by `ensure_port`).
    fn reconfigure_bond(&mut self, name: &str, o: &BondOptions) -> Result<(), PlanError> {
        let Some(LinkInfo::Bond(info)) = self.model_link(name).map(|l| &l.info) else {
            return Ok(());
        };
        // The kernel keeps updelay and downdelay as multiples of miimon, so a
        // new miimon rescales them: they go in the same request, after it.
        let rescaled = !bond::holds(info, &BondChange::Miimon(o.miimon));
        let changes: Vec<BondChange> = BondChange::all_of(o)
            .into_iter()
            .filter(|c| {
                !bond::holds(info, c)
                    || (rescaled && matches!(c, BondChange::Updelay(_) | BondChange::Downdelay(_)))
            })
            .collect();
        if changes.is_empty() {
            return Ok(());
        }
        let ports: Vec<String> = if changes.iter().any(BondChange::needs_no_ports) {
            topology::ports(&self.model, name)
                .map(|p| p.name.clone())
                .collect()
        } else {
            Vec::new()
        };
        let bounce = changes.iter().any(BondChange::needs_bond_down)
            && self.model_link(name).is_some_and(|l| l.admin_up);
        for port in ports {
            self.emit(Op::ReleasePort { port })?;
        }
        if bounce {
            self.emit(Op::SetDown {
                name: name.to_string(),
            })?;
        }
        self.emit(Op::SetBondOptions {
            bond: name.to_string(),
            changes,
        })?;
        if bounce {
            self.emit(Op::SetUp {
                name: name.to_string(),
            })?;
        }
        Ok(())
    }

    /// Enslaves `port` (down, master, up — the kernel refuses an up port),
    /// or just brings it up when it is a port already.
    fn ensure_port(&mut self, port: &str, bond: &str) -> Result<(), PlanError> {
        let Some(p) = self.model_link(port) else {
            return Err(PlanError::MissingNic {
                name: port.to_string(),
            });
        };
        let (enslaved, up) = (p.master.as_deref() == Some(bond), p.admin_up);
        if !enslaved {
            if up {
                self.emit(Op::SetDown {
                    name: port.to_string(),
                })?;
            }
            self.emit(Op::SetMaster {
                port: port.to_string(),
                bond: bond.to_string(),
            })?;
        }
        if !enslaved || !up {
            self.emit(Op::SetUp {
                name: port.to_string(),
            })?;
        }
        Ok(())
    }

    /// A new bond takes its primary's burned-in MAC (else the first
    /// member's), so DHCP reservations and LACP partners see the same
    /// address across restarts; `None` leaves it to the kernel.
    fn bond_mac(&self, o: &BondOptions) -> Option<MacAddr> {
        let mac_of = |name: &str| {
            let l = self.current.link(name)?;
            l.permanent_mac
                .or_else(|| l.bond_port.as_ref().and_then(|p| p.permanent_mac))
                .or(l.mac)
        };
        o.primary
            .as_deref()
            .and_then(mac_of)
            .or_else(|| o.members.first().and_then(|m| mac_of(m)))
    }

    fn add_addresses(&mut self) -> Result<(), PlanError> {
        for a in self.target.addresses() {
            if !target::has_address(&self.model, &a.link, a.address) {
                self.emit(Op::AddAddress {
                    link: a.link.clone(),
                    address: a.address,
                })?;
            }
        }
        Ok(())
    }

    fn add_routes(&mut self) -> Result<(), PlanError> {
        for r in self.target.routes() {
            if self
                .model
                .routes
                .iter()
                .any(|k| target::route_matches(k, r))
            {
                continue;
            }
            let taken = self
                .model
                .routes
                .iter()
                .find(|k| simulate::same_slot(k, r.destination, r.metric));
            if let Some(k) = taken {
                return Err(PlanError::RouteConflict {
                    route: r.to_string(),
                    existing: describe_route(k),
                });
            }
            self.emit(Op::AddRoute { route: r.clone() })?;
        }
        Ok(())
    }
}

/// A kernel route the way `ip route` prints it, with its protocol.
pub fn describe_route(r: &crate::state::Route) -> String {
    let d = crate::desired::DesiredRoute {
        destination: r.destination,
        gateway: r.gateway,
        link: r.link.clone().unwrap_or_default(),
        metric: r.metric,
    };
    format!("{d} proto {}", r.protocol)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixture::{
        bare, create_macvlan, desired, desired_from, link_mut, synced, PROFILE,
    };

    #[test]
    fn a_synced_node_plans_nothing() {
        assert!(plan(&desired(), &synced()).unwrap().is_empty());
    }

    #[test]
    fn a_new_bond_takes_its_primarys_burned_in_mac() {
        let mut s = bare();
        // eth1 is a port elsewhere already: its MAC is not its own.
        link_mut(&mut s, "eth1").mac = "02:00:00:00:00:01".parse().ok();
        let p = plan(&desired(), &s).unwrap();
        let create = p
            .ops
            .iter()
            .find(|o| matches!(o, Op::CreateLink { name, .. } if name == "bond0"));
        assert!(
            matches!(create, Some(Op::CreateLink { mac: Some(m), .. }) if m.to_string() == "52:54:00:12:34:03")
        );
    }

    #[test]
    fn a_bond_mac_falls_back_to_the_first_member() {
        let d = desired_from(&PROFILE.replace("primary = \"eth1\"", "primary = \"eth2\""));
        let mut s = bare();
        let eth2 = link_mut(&mut s, "eth2");
        eth2.mac = None;
        eth2.permanent_mac = None;
        let p = plan(&d, &s).unwrap();
        assert!(
            p.to_string().contains(
                "primary eth2 primary_reselect always min_links 0 address 52:54:00:12:34:03"
            ),
            "{p}"
        );
    }

    /// mv-storage as a crash right after its creating request leaves it:
    /// in n3xnet's group, no alias, down, IPv6 autoconf on, no address.
    fn half_created(s: &mut KernelState, name: &str) {
        let l = link_mut(s, name);
        assert!(l.in_owner_group(), "created by the model, in the group");
        l.alias = None;
        l.admin_up = false;
        l.ipv6_link_local_off = false;
        s.addresses.retain(|a| a.link != name);
    }

    #[test]
    fn a_half_created_link_is_marked_in_place_and_completed() {
        let mut s = synced();
        half_created(&mut s, "mv-storage");
        let p = plan(&desired(), &s).unwrap();
        assert_eq!(
            p.to_string(),
            "set mv-storage alias n3xnet\n\
             set mv-storage ipv6 addrgenmode none accept_ra 0\n\
             set mv-storage up\n\
             add address 192.168.20.1/24 dev mv-storage\n"
        );
    }

    #[test]
    fn a_half_created_link_of_another_kind_is_replaced() {
        let mut s = synced();
        half_created(&mut s, "mv-storage");
        let l = link_mut(&mut s, "mv-storage");
        l.info = LinkInfo::Ipvlan { mode: "l2".into() };
        let p = plan(&desired(), &s).unwrap();
        assert_eq!(p.ops[0].to_string(), "delete mv-storage", "{p}");
        // Without the group it would be a foreign link of the name.
        link_mut(&mut s, "mv-storage").group = 0;
        assert!(matches!(
            plan(&desired(), &s),
            Err(PlanError::KindConflict { .. })
        ));
    }

    #[test]
    fn the_group_alone_claims_no_link_the_profile_does_not_declare() {
        let mut s = synced();
        // An operator's macvlan, in n3xnet's group by their own choice (or
        // half-created under an older profile): foreign, left as it is.
        crate::plan::simulate::apply(&mut s, &create_macvlan("mv-ops", "bond0.100")).unwrap();
        link_mut(&mut s, "mv-ops").alias = None;
        assert!(plan(&desired(), &s).unwrap().is_empty());
        // Nor a declared NIC: n3xnet never creates one.
        link_mut(&mut s, "eth1").group = crate::state::OWNER_GROUP;
        assert!(plan(&desired(), &s).unwrap().is_empty());
        // With the alias it is n3xnet's under any name, and stale.
        link_mut(&mut s, "mv-ops").alias = Some("n3xnet".into());
        assert_eq!(plan(&desired(), &s).unwrap().to_string(), "delete mv-ops\n");
    }

    /// IPv6 addresses are planned, kept, undone and replaced like IPv4 ones.
    #[test]
    fn ipv6_addresses_are_planned_like_ipv4_ones() {
        let dual = |v6: &str| {
            desired_from(&PROFILE.replace(
                "cluster = \"192.168.200.1\"",
                &format!("cluster = [\"192.168.200.1/24\", \"{v6}\"]"),
            ))
        };
        let d = dual("fd00:200::1/64");
        let mut s = bare();
        let p = plan(&d, &s).unwrap();
        let text = p.to_string();
        for want in [
            "add address fd00:200::1/64 dev bond0.200\n",
            "add address fe80::1/64 dev bond0.200\n",
        ] {
            assert!(text.contains(want), "{want} not in\n{text}");
        }
        // The link-local is the profile's: kernel autoconf stays off.
        assert!(!text.contains("eui64"), "{text}");
        // Each op's undo from the state before it, run in reverse: rollback.
        let before = s.clone();
        let undo = crate::plan::fixture::apply_with_undo(&mut s, &p.ops);
        assert!(plan(&d, &s).unwrap().is_empty(), "in sync");
        let mut back = s.clone();
        simulate::apply_all(&mut back, &undo).unwrap();
        assert_eq!(back.addresses, before.addresses, "rolled back");
        // A changed address: the old owned one and its link-local go.
        let p = plan(&dual("fd00:200::7/64"), &s).unwrap();
        assert_eq!(
            p.to_string(),
            "delete address fd00:200::1/64 dev bond0.200\n\
             delete address fe80::1/64 dev bond0.200\n\
             add address fd00:200::7/64 dev bond0.200\n\
             add address fe80::7/64 dev bond0.200\n"
        );
    }

    /// Taking a link down drops its static IPv6 addresses (and those of the
    /// VLANs on it): a bond bounced for a mode change gets them back in the
    /// same plan, and its undo restores them too.
    #[test]
    fn a_bounced_bond_gets_its_vlans_ipv6_addresses_back() {
        let dual = PROFILE.replace(
            "cluster = \"192.168.200.1\"",
            "cluster = [\"192.168.200.1/24\", \"fd00:200::1/64\"]",
        );
        let mut s = bare();
        simulate::apply_all(&mut s, &plan(&desired_from(&dual), &bare()).unwrap().ops).unwrap();
        let d = desired_from(&dual.replace(
            "mode = \"active-backup\"\nprimary = \"eth1\"",
            "mode = \"balance-xor\"",
        ));
        let p = plan(&d, &s).unwrap();
        let text = p.to_string();
        let down = text.find("set bond0 down").expect("bounced");
        let readd = text
            .find("add address fd00:200::1/64 dev bond0.200")
            .expect("re-added");
        assert!(down < readd, "{text}");
        assert!(
            text.contains("add address fe80::1/64 dev bond0.200"),
            "{text}"
        );
        let before = s.clone();
        let undo = crate::plan::fixture::apply_with_undo(&mut s, &p.ops);
        assert!(plan(&d, &s).unwrap().is_empty(), "in sync");
        simulate::apply_all(&mut s, &undo).unwrap();
        let mut want = before.addresses.clone();
        let mut got = s.addresses.clone();
        want.sort_by_key(|a| (a.link.clone(), a.address));
        got.sort_by_key(|a| (a.link.clone(), a.address));
        assert_eq!(got, want, "rolled back");
    }

    /// IPv6 routes are planned, kept, undone and replaced like IPv4 ones;
    /// the kernel's metric 1024 for one written without a metric is the
    /// same route (an in-sync node plans nothing), and the kernel's own
    /// IPv6 routes and foreign ones are never touched.
    #[test]
    fn ipv6_routes_are_planned_like_ipv4_ones() {
        let dual = |metric: &str| {
            desired_from(&format!(
                "gateway = [\"192.168.200.254\", \"fd00:200::fe\"]\n{}\n[[routes]]\nto = \"fd00:50::/48\"\nvia = \"fd00:200::fe\"\n{metric}\n[[routes]]\nto = \"fd00:60::/48\"\nvia = \"fe80::fe\"\ndev = \"bond0.200\"\n",
                PROFILE.replace(
                    "cluster = \"192.168.200.1\"",
                    "cluster = [\"192.168.200.1/24\", \"fd00:200::1/64\"]",
                )
            ))
        };
        let d = dual("");
        let mut s = bare();
        let p = plan(&d, &s).unwrap();
        let text = p.to_string();
        for want in [
            "add route default via 192.168.200.254 dev bond0.200\n",
            "add route default via fd00:200::fe dev bond0.200\n",
            "add route fd00:50::/48 via fd00:200::fe dev bond0.200\n",
            "add route fd00:60::/48 via fe80::fe dev bond0.200\n",
        ] {
            assert!(text.contains(want), "{want} not in\n{text}");
        }
        // The journal reads the ops back as they were.
        let json = serde_json::to_string(&p.ops).unwrap();
        assert_eq!(serde_json::from_str::<Vec<Op>>(&json).unwrap(), p.ops);
        let before = s.clone();
        let undo = crate::plan::fixture::apply_with_undo(&mut s, &p.ops);
        let json = serde_json::to_string(&undo).unwrap();
        assert_eq!(serde_json::from_str::<Vec<Op>>(&json).unwrap(), undo);
        // The kernel holds them at metric 1024, beside its own prefix and
        // link-local routes (metric 256).
        let v6: Vec<String> = s
            .routes
            .iter()
            .filter(|r| r.destination.addr().is_ipv6())
            .map(|r| format!("{} {}", describe_route(r), r.metric.unwrap_or(0)))
            .collect();
        for want in [
            "default via fd00:200::fe dev bond0.200 metric 1024 proto 110 1024",
            "fd00:200::/64 dev bond0.200 metric 256 proto 2 256",
            "fe80::/64 dev bond0.200 metric 256 proto 2 256",
        ] {
            assert!(v6.iter().any(|r| r == want), "{want} not in {v6:#?}");
        }
        // In sync: nothing to do, whether the metric is left out, 1024 or
        // 0 (which the kernel also turns into 1024).
        for metric in ["", "metric = 1024", "metric = 0"] {
            assert!(plan(&dual(metric), &s).unwrap().is_empty(), "{metric:?}");
        }
        // A foreign IPv6 route on the same link stays.
        crate::plan::fixture::add_route(
            &mut s,
            crate::plan::fixture::foreign_route("fd00:70::/48", Some("fd00:200::99"), "bond0.200"),
        );
        assert!(plan(&d, &s).unwrap().is_empty());
        // Another metric is another route: the old one goes.
        let p = plan(&dual("metric = 50"), &s).unwrap();
        assert_eq!(
            p.to_string(),
            "delete route fd00:50::/48 via fd00:200::fe dev bond0.200 metric 1024\n\
             add route fd00:50::/48 via fd00:200::fe dev bond0.200 metric 50\n"
        );
        // Rolled back (without the foreign route added since): the routes
        // as they were.
        s.routes
            .retain(|r| r.destination.to_string() != "fd00:70::/48");
        let mut back = s.clone();
        simulate::apply_all(&mut back, &undo).unwrap();
        assert_eq!(
            crate::plan::fixture::normalized(&back),
            crate::plan::fixture::normalized(&before)
        );
    }

    #[test]
    fn plan_displays_one_op_per_line() {
        let p = plan(&desired(), &bare()).unwrap();
        assert_eq!(p.to_string().lines().count(), p.ops.len());
        assert!(p.to_string().ends_with('\n'));
    }
}
