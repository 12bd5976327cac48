//! The health of a node's network: what the desired network's links, bonds
//! and logical networks look like in the kernel right now.
//!
//! Pure: [`Health::compute`] reads a [`DesiredNetwork`] and a
//! [`KernelState`] (and the previous health, to count flaps), so every rule
//! here is tested from state fixtures without root. The daemon recomputes it
//! on every netlink event burst; it is its `STATUS=` line, its status file
//! and its D-Bus `HealthJson` property and `HealthChanged` signal, and
//! wait-online decides on it.
//!
//! Levels: `ok` (everything as it should be), `degraded` (carrying traffic
//! with less redundancy: a bond port down) and `down` (not carrying traffic).
//! A logical network's reason names the root-most cause: with a bond port
//! down under a VLAN the storage network is "degraded (bond0: eth2 down)",
//! not "bond0.100: ...".

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use ipnet::IpNet;

use crate::desired::{BondOptions, DesiredNetwork, LinkKind};
use crate::kinds::{BondMode, Network};
use crate::mac::MacAddr;
use crate::plan::route_matches;
use crate::state::{BondInfo, Dad, KernelState, Link, OperState};

/// LACP port state bits (IEEE 802.1AX): synchronization, collecting and
/// distributing. A port carries traffic only with all three; the number of
/// ports in the aggregator rises seconds before that (see the VM notes), so
/// counting ports would call a bond up while it still drops frames.
pub const LACP_SYNC: u8 = 0x08;
pub const LACP_COLLECTING: u8 = 0x10;
pub const LACP_DISTRIBUTING: u8 = 0x20;
pub const LACP_FULL: u8 = LACP_SYNC | LACP_COLLECTING | LACP_DISTRIBUTING;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    /// Carrying traffic with less redundancy than desired.
    Degraded,
    Down,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Degraded => "degraded",
            Level::Down => "down",
        }
    }

    /// Carries traffic (ok or degraded).
    pub fn is_up(self) -> bool {
        self != Level::Down
    }
}

/// The whole node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub node: String,
    /// The worst level of the logical networks.
    pub level: Level,
    /// Every network of the online set is up (ok or degraded).
    pub online: bool,
    /// One line: `online: cluster ok, storage degraded (bond0: eth2 down)`.
    pub summary: String,
    pub networks: Vec<NetworkHealth>,
    /// Every desired link (and undeclared parents of desired links).
    pub links: Vec<LinkHealth>,
    pub bonds: Vec<BondHealth>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkKind {
    Cluster,
    Storage,
    /// A Multus network's host shim.
    Multus,
}

impl NetworkKind {
    /// The name, as in the JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkKind::Cluster => "cluster",
            NetworkKind::Storage => "storage",
            NetworkKind::Multus => "multus",
        }
    }
}

/// A logical network: the cluster or storage network, or a Multus host
/// shim, with everything under its link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkHealth {
    /// `cluster`, `storage` or `multus:<nad>`.
    pub name: String,
    pub kind: NetworkKind,
    /// The link carrying the network's address.
    pub link: String,
    /// Part of the online set.
    pub required: bool,
    pub level: Level,
    /// Why it is not ok: `bond0: eth2 down`, `eth1: no carrier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkHealth {
    pub name: String,
    pub present: bool,
    pub admin_up: bool,
    pub carrier: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operstate: Option<OperState>,
    /// Carrier losses seen since the daemon started.
    pub flaps: u32,
    pub level: Level,
    /// `missing`, `admin down`, `no carrier`, `operstate dormant`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The kernel's carrier-down counter when this was computed: the next
    /// computation counts the losses in between, even those whose carrier
    /// came back before the health was looked at again.
    #[serde(skip)]
    pub carrier_down_count: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BondHealth {
    pub name: String,
    pub mode: String,
    /// The port carrying traffic (active-backup and the like).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_port: Option<String>,
    /// Ports that can carry traffic: MII up, and for 802.3ad in the active
    /// aggregator at full LACP state.
    pub ports_up: u32,
    /// Declared members.
    pub ports_total: u32,
    pub min_links: u32,
    /// `down` below `max(minLinks, 1)` ports up, `degraded` below all.
    pub level: Level,
    /// The ports that are not up and why: `eth2 down`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The active 802.3ad aggregator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregator: Option<Aggregator>,
    pub ports: Vec<PortHealth>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Aggregator {
    pub id: u16,
    pub ports: u16,
    pub actor_key: u16,
    pub partner_key: u16,
    /// `00:00:00:00:00:00` when no partner answers LACP.
    pub partner_mac: MacAddr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortHealth {
    pub name: String,
    pub up: bool,
    /// `missing`, `not in bond0`, `down`, `LACP not in sync (...)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The bond's view: `up`, `going-down`, `down`, `going-back`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mii_status: Option<String>,
    /// `active` or `backup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The kernel's link failure count of the port.
    pub link_failures: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lacp: Option<PortLacp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortLacp {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregator_id: Option<u16>,
    /// Actor operational port state bits (63: activity, fast, aggregation,
    /// sync, collecting, distributing).
    pub actor_state: u8,
    pub partner_state: u8,
    /// Actor and partner at sync+collecting+distributing, in the bond's
    /// active aggregator.
    pub full: bool,
    /// Times the port fell out of full state since the daemon started.
    pub churn: u32,
}

/// One change between two healths ([`Health::changes`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change<'a> {
    Link(&'a LinkHealth),
    Bond(&'a BondHealth),
    /// A port of the bond.
    Port(&'a BondHealth, &'a PortHealth),
    Network(&'a NetworkHealth),
}

/// The logical networks of a node: `(name, kind, link)`, cluster first.
pub fn networks(desired: &DesiredNetwork) -> Vec<(String, NetworkKind, &str)> {
    let mut out = vec![(
        Network::Cluster.to_string(),
        NetworkKind::Cluster,
        desired.cluster_interface.as_str(),
    )];
    if let Some(l) = desired.network_link(Network::Storage) {
        out.push((
            Network::Storage.to_string(),
            NetworkKind::Storage,
            l.name.as_str(),
        ));
    }
    for l in &desired.links {
        if let Some(nad) = &l.multus {
            out.push((
                format!("multus:{nad}"),
                NetworkKind::Multus,
                l.name.as_str(),
            ));
        }
    }
    out
}

impl Health {
    /// The health of `desired` in `state`. `previous` carries the flap and
    /// churn counters forward; `require` names the online set (see
    /// [`crate::config::OnlineConfig::require`]): a name the node does not
    /// have can never be up.
    pub fn compute(
        desired: &DesiredNetwork,
        state: &KernelState,
        previous: Option<&Health>,
        require: &[String],
    ) -> Health {
        let mut links: Vec<LinkHealth> = Vec::new();
        let mut add_link = |name: &str| {
            if !links.iter().any(|l| l.name == name) {
                let prev = previous.and_then(|p| p.link(name));
                links.push(link_health(name, state.link(name), prev));
            }
        };
        for l in &desired.links {
            if let Some(p) = l.parent() {
                add_link(p);
            }
            add_link(&l.name);
        }
        for (_, _, link) in networks(desired) {
            add_link(link);
        }
        let bonds: Vec<BondHealth> = desired
            .links
            .iter()
            .filter_map(|l| match &l.kind {
                LinkKind::Bond(opts) => Some(bond_health(
                    &l.name,
                    opts,
                    state,
                    previous.and_then(|p| p.bond(&l.name)),
                )),
                _ => None,
            })
            .collect();
        let networks: Vec<NetworkHealth> = networks(desired)
            .into_iter()
            .map(|(name, kind, link)| {
                let (level, reason) = network_level(desired, state, &links, &bonds, link);
                NetworkHealth {
                    required: require.contains(&name),
                    name,
                    kind,
                    link: link.to_owned(),
                    level,
                    reason,
                }
            })
            .collect();
        let online = require
            .iter()
            .all(|r| networks.iter().any(|n| &n.name == r && n.level.is_up()));
        let level = networks.iter().map(|n| n.level).max().unwrap_or(Level::Ok);
        let mut health = Health {
            node: desired.node.clone(),
            level,
            online,
            summary: String::new(),
            networks,
            links,
            bonds,
        };
        health.summary = health.summarize();
        health
    }

    pub fn link(&self, name: &str) -> Option<&LinkHealth> {
        self.links.iter().find(|l| l.name == name)
    }

    pub fn bond(&self, name: &str) -> Option<&BondHealth> {
        self.bonds.iter().find(|b| b.name == name)
    }

    pub fn network(&self, name: &str) -> Option<&NetworkHealth> {
        self.networks.iter().find(|n| n.name == name)
    }

    /// The required networks that keep the node offline, with their
    /// reasons: what wait-online reports on timeout.
    pub fn blocking(&self) -> impl Iterator<Item = &NetworkHealth> {
        self.networks
            .iter()
            .filter(|n| n.required && !n.level.is_up())
    }

    /// What differs from `prev`, for the log: each link, bond, bond port
    /// and network whose state changed (a port's counters count; a link's
    /// flap counter alone does not).
    pub fn changes<'a>(&'a self, prev: &Health) -> Vec<Change<'a>> {
        let mut out = Vec::new();
        let link_key = |l: &LinkHealth| (l.present, l.admin_up, l.carrier, l.operstate, l.level);
        for l in &self.links {
            if prev.link(&l.name).map(link_key) != Some(link_key(l)) {
                out.push(Change::Link(l));
            }
        }
        for b in &self.bonds {
            let before = prev.bond(&b.name);
            if before.map(|p| (p.ports_up, p.level, &p.active_port))
                != Some((b.ports_up, b.level, &b.active_port))
            {
                out.push(Change::Bond(b));
            }
            for p in &b.ports {
                let old = before.and_then(|o| o.ports.iter().find(|q| q.name == p.name));
                if old != Some(p) {
                    out.push(Change::Port(b, p));
                }
            }
        }
        for n in &self.networks {
            let before = prev.network(&n.name);
            if before.map(|p| (p.level, &p.reason)) != Some((n.level, &n.reason)) {
                out.push(Change::Network(n));
            }
        }
        out
    }

    fn summarize(&self) -> String {
        let mut s = String::from(if self.online { "online: " } else { "offline: " });
        for (i, n) in self.networks.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            let _ = write!(s, "{} {}", n.name, n.level.as_str());
            if let Some(r) = &n.reason {
                let _ = write!(s, " ({r})");
            }
        }
        s
    }
}

/// The kernel's (and the JSON form's) name of an operstate.
pub fn operstate_name(o: OperState) -> &'static str {
    match o {
        OperState::Unknown => "unknown",
        OperState::NotPresent => "notpresent",
        OperState::Down => "down",
        OperState::LowerLayerDown => "lowerlayerdown",
        OperState::Testing => "testing",
        OperState::Dormant => "dormant",
        OperState::Up => "up",
    }
}

fn link_health(name: &str, link: Option<&Link>, prev: Option<&LinkHealth>) -> LinkHealth {
    let flaps = prev.map_or(0, |p| p.flaps);
    let Some(l) = link else {
        return LinkHealth {
            name: name.to_owned(),
            present: false,
            admin_up: false,
            carrier: false,
            operstate: None,
            flaps,
            level: Level::Down,
            reason: Some("missing".into()),
            carrier_down_count: None,
        };
    };
    let losses = match (
        prev.and_then(|p| p.carrier_down_count),
        l.carrier_down_count,
    ) {
        // A recreated link starts counting again: what it lost before is gone.
        (Some(before), Some(now)) => now.saturating_sub(before),
        // No counter (old kernel, first sight): a loss seen is a loss.
        _ => u32::from(prev.is_some_and(|p| p.carrier) && !l.carrier),
    };
    let reason = if !l.admin_up {
        Some("admin down".to_owned())
    } else if !l.carrier {
        Some("no carrier".to_owned())
    } else {
        // The carrier comes on at once, operstate when the kernel's linkwatch
        // has activated the queues (up to a second later): only then does
        // traffic flow, so a lagging operstate still counts as down.
        // `unknown` is what links without operstate support report.
        match l.operstate {
            OperState::Up | OperState::Unknown => None,
            other => Some(format!("operstate {}", operstate_name(other))),
        }
    };
    LinkHealth {
        name: name.to_owned(),
        present: true,
        admin_up: l.admin_up,
        carrier: l.carrier,
        operstate: Some(l.operstate),
        flaps: flaps.saturating_add(losses),
        level: if reason.is_some() {
            Level::Down
        } else {
            Level::Ok
        },
        reason,
        carrier_down_count: l.carrier_down_count,
    }
}

fn bond_health(
    name: &str,
    opts: &BondOptions,
    state: &KernelState,
    prev: Option<&BondHealth>,
) -> BondHealth {
    let info = state.link(name).and_then(|l| match &l.info {
        crate::state::LinkInfo::Bond(b) => Some(b),
        _ => None,
    });
    let ports: Vec<PortHealth> = opts
        .members
        .iter()
        .map(|m| {
            let prev = prev.and_then(|b| b.ports.iter().find(|p| &p.name == m));
            port_health(name, m, opts.mode, state.link(m), info, prev)
        })
        .collect();
    let ports_up = ports.iter().filter(|p| p.up).count() as u32;
    let ports_total = ports.len() as u32;
    let level = if ports_up < opts.min_links.max(1) {
        Level::Down
    } else if ports_up < ports_total {
        Level::Degraded
    } else {
        Level::Ok
    };
    let problems: Vec<String> = ports
        .iter()
        .filter_map(|p| p.reason.as_ref().map(|r| format!("{} {r}", p.name)))
        .collect();
    let mut reason = (!problems.is_empty()).then(|| problems.join(", "));
    if level == Level::Down && ports_up > 0 {
        reason = Some(format!(
            "{ports_up} of {} port(s) up, minLinks {}{}",
            ports_total,
            opts.min_links,
            reason.map(|r| format!(": {r}")).unwrap_or_default()
        ));
    }
    BondHealth {
        name: name.to_owned(),
        mode: opts.mode.to_string(),
        active_port: info.and_then(|i| i.active_port.clone()),
        ports_up,
        ports_total,
        min_links: opts.min_links,
        level,
        reason,
        aggregator: info.and_then(|i| i.ad_info.as_ref()).map(|a| Aggregator {
            id: a.aggregator_id,
            ports: a.num_ports,
            actor_key: a.actor_key,
            partner_key: a.partner_key,
            partner_mac: a.partner_mac,
        }),
        ports,
    }
}

fn port_health(
    bond: &str,
    name: &str,
    mode: BondMode,
    link: Option<&Link>,
    info: Option<&BondInfo>,
    prev: Option<&PortHealth>,
) -> PortHealth {
    let mut p = PortHealth {
        name: name.to_owned(),
        up: false,
        reason: None,
        mii_status: None,
        state: None,
        link_failures: 0,
        lacp: None,
    };
    let port = link.and_then(|l| l.bond_port.as_ref());
    if let Some(bp) = port {
        p.mii_status = Some(bp.mii_status.clone());
        p.state = Some(bp.state.clone());
        p.link_failures = bp.link_failure_count;
        if mode == BondMode::Lacp {
            let actor = bp.actor_oper_port_state.unwrap_or(0);
            // The partner's state is 8 bits on the wire; the kernel hands it
            // out as u16.
            let partner = bp.partner_oper_port_state.unwrap_or(0) as u8;
            let active = info
                .and_then(|i| i.ad_info.as_ref())
                .map(|a| a.aggregator_id);
            let full = bp.aggregator_id.is_some()
                && bp.aggregator_id == active
                && actor & LACP_FULL == LACP_FULL
                && partner & LACP_FULL == LACP_FULL;
            let was_full = prev.and_then(|p| p.lacp.as_ref()).is_some_and(|l| l.full);
            let churn = prev.and_then(|p| p.lacp.as_ref()).map_or(0, |l| l.churn);
            p.lacp = Some(PortLacp {
                aggregator_id: bp.aggregator_id,
                actor_state: actor,
                partner_state: partner,
                full,
                churn: churn + u32::from(was_full && !full),
            });
        }
    }
    p.reason = match (link, port) {
        (None, _) => Some("missing".to_owned()),
        (Some(l), _) if l.master.as_deref() != Some(bond) => Some(format!("not in {bond}")),
        (Some(_), None) => Some("without port state".to_owned()),
        (Some(l), Some(bp)) if bp.mii_status != "up" || !l.carrier => Some("down".to_owned()),
        (Some(_), Some(bp)) => p.lacp.as_ref().filter(|l| !l.full).map(|l| {
            lacp_problem(
                l,
                info.and_then(|i| i.ad_info.as_ref())
                    .map(|a| a.aggregator_id),
                bp.aggregator_id,
            )
        }),
    };
    p.up = p.reason.is_none();
    p
}

/// Why a port is not at full LACP state, naming the missing bits.
fn lacp_problem(l: &PortLacp, active: Option<u16>, port: Option<u16>) -> String {
    if port.is_none() || port != active {
        let show = |a: Option<u16>| a.map_or("none".to_owned(), |a| a.to_string());
        return format!(
            "LACP aggregator {} is not the active {}",
            show(port),
            show(active)
        );
    }
    let missing = |state: u8| {
        [
            (LACP_SYNC, "sync"),
            (LACP_COLLECTING, "collecting"),
            (LACP_DISTRIBUTING, "distributing"),
        ]
        .iter()
        .filter(|(bit, _)| state & bit == 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join("+")
    };
    let mut parts = Vec::new();
    if l.actor_state & LACP_FULL != LACP_FULL {
        parts.push(format!("actor lacks {}", missing(l.actor_state)));
    }
    if l.partner_state & LACP_FULL != LACP_FULL {
        parts.push(format!("partner lacks {}", missing(l.partner_state)));
    }
    format!("LACP not in sync ({})", parts.join(", "))
}

/// A logical network's level and root-most reason: the chain from the
/// network's link down to its root (VLAN → bond → ports), then its
/// addresses, then its IPv6 default route.
fn network_level(
    desired: &DesiredNetwork,
    state: &KernelState,
    links: &[LinkHealth],
    bonds: &[BondHealth],
    link: &str,
) -> (Level, Option<String>) {
    let mut chain = vec![link];
    while let Some(parent) = chain
        .last()
        .and_then(|l| desired.link(l))
        .and_then(|l| l.parent())
    {
        if chain.contains(&parent) {
            break;
        }
        chain.push(parent);
    }
    // Root first: the first problem at the worst level is the cause.
    let mut problems: Vec<(Level, String)> = chain
        .iter()
        .rev()
        .filter_map(|name| {
            let lh = links.iter().find(|l| &l.name == name)?;
            let own = lh
                .reason
                .as_ref()
                .map(|r| (lh.level, format!("{name}: {r}")));
            if !lh.present || !lh.admin_up {
                return own;
            }
            match bonds.iter().find(|b| &b.name == name) {
                Some(b) if b.level != Level::Ok => Some((
                    b.level,
                    format!("{name}: {}", b.reason.as_deref().unwrap_or("ports down")),
                )),
                _ => own,
            }
        })
        .collect();
    let missing = address_problem(desired, state, link)
        .or_else(|| ipv6_default_route_problem(desired, state, link));
    if let Some(missing) = missing {
        problems.push((Level::Down, format!("{link}: {missing}")));
    }
    let worst = problems.iter().map(|(l, _)| *l).max();
    match worst {
        None => (Level::Ok, None),
        Some(w) => (
            w,
            problems.into_iter().find(|(l, _)| *l == w).map(|(_, r)| r),
        ),
    }
}

/// The network link lacks its address: a desired one, or for DHCP a
/// leased one. A lease is an address with a finite lifetime (what
/// n3xnetd's DHCP client installs): a static address someone put on the
/// link does not make the node online, a bound lease does.
fn address_problem(desired: &DesiredNetwork, state: &KernelState, link: &str) -> Option<String> {
    if desired.link(link).is_some_and(|l| l.dhcp) {
        let leased = state.addresses_on(link).any(|a| a.is_dynamic());
        return (!leased).then(|| "no DHCP lease".to_owned());
    }
    desired.addresses_on(link).find_map(|a| {
        let Some(have) = state.addresses_on(link).find(|h| h.address == a.address) else {
            return Some(format!("address {} missing", a.address));
        };
        // An IPv6 address is usable once DAD is done; one another host
        // holds stays unusable until someone resolves the clash.
        match have.dad? {
            Dad::Tentative => Some(format!(
                "address {} tentative (duplicate address detection)",
                a.address
            )),
            Dad::Failed => Some(format!(
                "address {} failed duplicate address detection: another host on the link holds it",
                a.address
            )),
        }
    })
}

/// The network's link lacks the IPv6 default route the profile gives it
/// (`gateway`'s IPv6 address): IPv6 beyond the link is not usable, so a
/// dual-stack network is up only with it, as with its addresses past DAD.
/// (IPv4's default route is not asked for here: a lease brings its own,
/// and n3x's networks never counted it.)
fn ipv6_default_route_problem(
    desired: &DesiredNetwork,
    state: &KernelState,
    link: &str,
) -> Option<String> {
    desired
        .routes
        .iter()
        .filter(|r| r.link == link && r.destination == IpNet::V6(Default::default()))
        .find(|r| !state.routes.iter().any(|k| route_matches(k, r)))
        .map(|r| format!("IPv6 default route {r} missing"))
}

/// Kernel states of a desired network for the unit tests of the health
/// model and of the sinks that report it.
#[cfg(test)]
pub mod fixtures {
    use crate::desired::DesiredNetwork;
    use crate::plan::{self, simulate};
    use crate::state::fixtures::nic;
    use crate::state::{AdInfo, BondPort, KernelState, Link, LinkInfo, OperState};

    /// `desired` applied by the real planner to bare NICs, then settled as
    /// the kernel would be with every cable in: carrier on, bond ports up
    /// (802.3ad: in aggregator 1 at full state with a partner).
    pub fn settled(d: &DesiredNetwork, nics: &[&str]) -> KernelState {
        let mut s = KernelState {
            links: nics
                .iter()
                .enumerate()
                .map(|(i, n)| nic(i as u32 + 2, n, true))
                .collect(),
            ..Default::default()
        };
        let p = plan::plan(d, &s).unwrap();
        simulate::apply_all(&mut s, &p.ops).unwrap();
        let lacp = s
            .links
            .iter()
            .any(|l| matches!(&l.info, LinkInfo::Bond(b) if b.mode == "802.3ad"));
        for l in &mut s.links {
            l.carrier = l.admin_up;
            l.operstate = if l.admin_up {
                OperState::Up
            } else {
                OperState::Down
            };
            if l.master.is_some() {
                l.bond_port = Some(BondPort {
                    state: "active".into(),
                    mii_status: "up".into(),
                    link_failure_count: 0,
                    permanent_mac: l.permanent_mac,
                    aggregator_id: lacp.then_some(1),
                    actor_oper_port_state: lacp.then_some(63),
                    partner_oper_port_state: lacp.then_some(61),
                });
            }
            if let LinkInfo::Bond(b) = &mut l.info {
                b.active_port = Some("eth1".into());
                if lacp {
                    b.ad_info = Some(AdInfo {
                        aggregator_id: 1,
                        num_ports: 2,
                        actor_key: 9,
                        partner_key: 1,
                        partner_mac: "02:00:00:00:00:01".parse().unwrap(),
                    });
                }
            }
        }
        s
    }

    /// The link `name` of `s`, to break it.
    pub fn link<'a>(s: &'a mut KernelState, name: &str) -> &'a mut Link {
        s.links.iter_mut().find(|l| l.name == name).unwrap()
    }

    /// The bond port state of the link `name` of `s`.
    pub fn port<'a>(s: &'a mut KernelState, name: &str) -> &'a mut BondPort {
        link(s, name).bond_port.as_mut().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{link, port, settled};
    use super::*;
    use crate::profile::{self, Format};
    use crate::state::Address;

    const DEMO: &str = include_str!("../profiles/demo.toml");
    const BONDING: &str = include_str!("../profiles/bonding-vlans.toml");

    fn desired(text: &str, node: &str) -> DesiredNetwork {
        let p = profile::parse(text, Format::Toml).unwrap();
        profile::resolve(&p, node).unwrap()
    }

    fn cluster() -> Vec<String> {
        vec!["cluster".to_owned()]
    }

    #[test]
    fn demo_node_in_sync_is_online_and_ok() {
        let d = desired(DEMO, "server-1");
        let s = settled(&d, &["eth1"]);
        let h = Health::compute(&d, &s, None, &cluster());
        assert_eq!(h.summary, "online: cluster ok, multus:pods ok");
        assert!(h.online);
        assert_eq!(h.level, Level::Ok);
        assert_eq!(h.networks[1].link, "mv-pods");
        assert!(h.networks[0].required && !h.networks[1].required);
        assert_eq!(h.links.len(), 2);
        assert!(h
            .links
            .iter()
            .all(|l| l.present && l.carrier && l.flaps == 0));
        assert!(h.bonds.is_empty());
    }

    #[test]
    fn no_carrier_takes_the_network_and_its_shim_down_naming_the_root() {
        let d = desired(DEMO, "server-1");
        let mut s = settled(&d, &["eth1"]);
        link(&mut s, "eth1").carrier = false;
        link(&mut s, "mv-pods").carrier = false;
        let h = Health::compute(&d, &s, None, &cluster());
        assert_eq!(
            h.summary,
            "offline: cluster down (eth1: no carrier), multus:pods down (eth1: no carrier)"
        );
        assert!(!h.online);
        assert_eq!(h.level, Level::Down);
        assert_eq!(
            h.blocking().map(|n| n.name.as_str()).collect::<Vec<_>>(),
            ["cluster"]
        );
        // The shim alone being down does not make the node offline.
        let mut s = settled(&d, &["eth1"]);
        s.links.retain(|l| l.name != "mv-pods");
        let h = Health::compute(&d, &s, None, &cluster());
        assert!(h.online);
        assert_eq!(h.level, Level::Down);
        assert_eq!(
            h.network("multus:pods").unwrap().reason.as_deref(),
            Some("mv-pods: missing")
        );
    }

    #[test]
    fn an_ipv6_address_is_usable_only_past_duplicate_address_detection() {
        let text = DEMO.replace(
            "server-1 = { cluster = \"192.168.1.1\" }",
            "server-1 = { cluster = [\"192.168.1.1/24\", \"fd00:1::1/64\"] }",
        );
        let d = desired(&text, "server-1");
        assert!(d
            .addresses_on("eth1")
            .any(|a| a.address.to_string() == "fd00:1::1/64"));
        let mut s = settled(&d, &["eth1"]);
        assert!(Health::compute(&d, &s, None, &cluster()).online);
        let mut dad = |state: Dad| {
            let a = s
                .addresses
                .iter_mut()
                .find(|a| a.address.to_string() == "fd00:1::1/64");
            a.expect("applied").dad = Some(state);
            Health::compute(&d, &s, None, &cluster())
        };
        let h = dad(Dad::Tentative);
        assert!(!h.online);
        assert_eq!(
            h.network("cluster").unwrap().reason.as_deref(),
            Some("eth1: address fd00:1::1/64 tentative (duplicate address detection)")
        );
        let h = dad(Dad::Failed);
        assert!(!h.online);
        assert_eq!(
            h.network("cluster").unwrap().reason.as_deref(),
            Some("eth1: address fd00:1::1/64 failed duplicate address detection: another host on the link holds it")
        );
    }

    /// A network with an IPv6 gateway is up only with its IPv6 default
    /// route; the IPv4 one is not asked for, as before.
    #[test]
    fn an_ipv6_gateway_needs_its_default_route() {
        let text = DEMO
            .replace(
                "server-1 = { cluster = \"192.168.1.1\" }",
                "server-1 = { cluster = [\"192.168.1.1/24\", \"fd00:1::1/64\"] }",
            )
            .replace(
                "agent-1 = { cluster = \"192.168.1.3\" }",
                "agent-1 = { cluster = [\"192.168.1.3/24\", \"fd00:1::3/64\"] }",
            )
            .replace(
                "gateway = \"192.168.1.254\"",
                "gateway = [\"192.168.1.254\", \"fd00:1::fe\"]",
            );
        let d = desired(&text, "server-1");
        let s = settled(&d, &["eth1"]);
        assert!(Health::compute(&d, &s, None, &cluster()).online);
        let mut v4_gone = s.clone();
        v4_gone
            .routes
            .retain(|r| r.destination.to_string() != "0.0.0.0/0");
        assert!(Health::compute(&d, &v4_gone, None, &cluster()).online);
        let mut v6_gone = s.clone();
        v6_gone
            .routes
            .retain(|r| r.destination.to_string() != "::/0");
        let h = Health::compute(&d, &v6_gone, None, &cluster());
        assert!(!h.online);
        assert_eq!(
            h.network("cluster").unwrap().reason.as_deref(),
            Some("eth1: IPv6 default route default via fd00:1::fe dev eth1 missing")
        );
        // A foreign IPv6 default route through another gateway is not it.
        let mut other = v6_gone.clone();
        let mut r = s
            .routes
            .iter()
            .find(|r| r.destination.to_string() == "::/0")
            .unwrap()
            .clone();
        r.gateway = Some("fd00:1::fd".parse().unwrap());
        r.metric = Some(100);
        other.routes.push(r);
        assert!(!Health::compute(&d, &other, None, &cluster()).online);
    }

    #[test]
    fn a_missing_address_is_down_and_foreign_ones_do_not_count() {
        let d = desired(DEMO, "server-1");
        let mut s = settled(&d, &["eth1"]);
        s.addresses.retain(|a| a.link != "eth1");
        s.addresses.push(Address {
            link: "eth1".into(),
            address: "192.168.1.200/32".parse().unwrap(),
            valid_lifetime: None,
            preferred_lifetime: None,
            protocol: 0,
            dad: None,
        });
        let h = Health::compute(&d, &s, None, &cluster());
        assert_eq!(
            h.network("cluster").unwrap().reason.as_deref(),
            Some("eth1: address 192.168.1.1/24 missing")
        );
        assert!(!h.online);
        // Admin down beats the missing address as the reason.
        link(&mut s, "eth1").admin_up = false;
        let h = Health::compute(&d, &s, None, &cluster());
        assert_eq!(
            h.network("cluster").unwrap().reason.as_deref(),
            Some("eth1: admin down")
        );
    }

    #[test]
    fn one_bond_port_down_degrades_every_network_above_it() {
        let d = desired(BONDING, "server-1");
        let mut s = settled(&d, &["eth1", "eth2"]);
        let h = Health::compute(&d, &s, None, &cluster());
        assert_eq!(h.summary, "online: cluster ok, storage ok");
        let b = h.bond("bond0").unwrap();
        assert_eq!((b.ports_up, b.ports_total, b.level), (2, 2, Level::Ok));
        assert_eq!(b.active_port.as_deref(), Some("eth1"));

        link(&mut s, "eth2").carrier = false;
        port(&mut s, "eth2").mii_status = "down".into();
        port(&mut s, "eth2").link_failure_count = 3;
        let h = Health::compute(&d, &s, None, &cluster());
        assert_eq!(
            h.summary,
            "online: cluster degraded (bond0: eth2 down), storage degraded (bond0: eth2 down)"
        );
        assert_eq!(h.level, Level::Degraded);
        let b = h.bond("bond0").unwrap();
        assert_eq!((b.ports_up, b.level), (1, Level::Degraded));
        assert_eq!(b.ports[1].link_failures, 3);
        assert_eq!(b.ports[1].mii_status.as_deref(), Some("down"));

        link(&mut s, "eth1").carrier = false;
        port(&mut s, "eth1").mii_status = "down".into();
        for l in ["bond0", "bond0.100", "bond0.200"] {
            link(&mut s, l).carrier = false;
        }
        let h = Health::compute(&d, &s, None, &cluster());
        assert_eq!(
            h.network("cluster").unwrap().reason.as_deref(),
            Some("bond0: eth1 down, eth2 down")
        );
        assert!(!h.online);
    }

    #[test]
    fn changes_name_what_moved_since_the_last_health() {
        let d = desired(BONDING, "server-1");
        let mut s = settled(&d, &["eth1", "eth2"]);
        let before = Health::compute(&d, &s, None, &cluster());
        assert!(before.changes(&before).is_empty());
        link(&mut s, "eth2").carrier = false;
        port(&mut s, "eth2").mii_status = "down".into();
        let after = Health::compute(&d, &s, Some(&before), &cluster());
        let names: Vec<String> = after
            .changes(&before)
            .iter()
            .map(|c| match c {
                Change::Link(l) => format!("link {}", l.name),
                Change::Bond(b) => format!("bond {}", b.name),
                Change::Port(b, p) => format!("port {}/{}", b.name, p.name),
                Change::Network(n) => format!("network {}", n.name),
            })
            .collect();
        assert_eq!(
            names,
            [
                "link eth2",
                "bond bond0",
                "port bond0/eth2",
                "network cluster",
                "network storage"
            ]
        );
    }

    #[test]
    fn min_links_sets_the_bar_for_down() {
        let text = BONDING.replace("miimon = 100", "miimon = 100\nminLinks = 2");
        let d = desired(&text, "server-1");
        let mut s = settled(&d, &["eth1", "eth2"]);
        port(&mut s, "eth2").mii_status = "down".into();
        let h = Health::compute(&d, &s, None, &cluster());
        let b = h.bond("bond0").unwrap();
        assert_eq!(b.level, Level::Down);
        assert_eq!(
            b.reason.as_deref(),
            Some("1 of 2 port(s) up, minLinks 2: eth2 down")
        );
        assert!(!h.online);
    }

    #[test]
    fn a_missing_vlan_or_a_released_port_is_named() {
        let d = desired(BONDING, "server-1");
        let mut s = settled(&d, &["eth1", "eth2"]);
        s.links.retain(|l| l.name != "bond0.100");
        link(&mut s, "eth2").master = None;
        let h = Health::compute(&d, &s, None, &cluster());
        assert_eq!(
            h.summary,
            "online: cluster degraded (bond0: eth2 not in bond0), storage down (bond0.100: missing)"
        );
    }

    #[test]
    fn lacp_counts_a_port_only_at_full_state() {
        let text = BONDING.replace(
            "mode = \"active-backup\"\nprimary = \"eth1\"",
            "mode = \"802.3ad\"",
        );
        let d = desired(&text, "server-1");
        let mut s = settled(&d, &["eth1", "eth2"]);
        let h = Health::compute(&d, &s, None, &cluster());
        let b = h.bond("bond0").unwrap();
        assert_eq!((b.ports_up, b.level), (2, Level::Ok), "{b:#?}");
        assert_eq!(
            b.aggregator.as_ref().unwrap().partner_mac.to_string(),
            "02:00:00:00:00:01"
        );
        assert!(b.ports.iter().all(|p| p.lacp.as_ref().unwrap().full));

        // Both ports in the aggregator (num_ports 2), MII up, but not yet
        // collecting/distributing: the bond carries nothing yet.
        for p in ["eth1", "eth2"] {
            port(&mut s, p).actor_oper_port_state = Some(0x0f);
            port(&mut s, p).partner_oper_port_state = Some(0x07);
        }
        let h2 = Health::compute(&d, &s, Some(&h), &cluster());
        let b = h2.bond("bond0").unwrap();
        assert_eq!((b.ports_up, b.level), (0, Level::Down));
        assert_eq!(
            b.ports[0].reason.as_deref(),
            Some("LACP not in sync (actor lacks collecting+distributing, partner lacks sync+collecting+distributing)")
        );
        assert_eq!(b.ports[0].lacp.as_ref().unwrap().churn, 1);
        assert!(!h2.online);

        // Full state, but in an aggregator that is not the active one.
        let mut s = settled(&d, &["eth1", "eth2"]);
        port(&mut s, "eth2").aggregator_id = Some(2);
        let h3 = Health::compute(&d, &s, Some(&h2), &cluster());
        let b = h3.bond("bond0").unwrap();
        assert_eq!((b.ports_up, b.level), (1, Level::Degraded));
        assert_eq!(
            b.reason.as_deref(),
            Some("eth2 LACP aggregator 2 is not the active 1")
        );
        // Churn is remembered across computations.
        assert_eq!(b.ports[1].lacp.as_ref().unwrap().churn, 1);
        assert_eq!(b.ports[0].lacp.as_ref().unwrap().churn, 1);
    }

    #[test]
    fn flaps_count_carrier_losses_across_computations() {
        let d = desired(DEMO, "server-1");
        let up = settled(&d, &["eth1"]);
        let mut down = up.clone();
        link(&mut down, "eth1").carrier = false;
        let mut h = Health::compute(&d, &up, None, &cluster());
        for (state, flaps) in [(&down, 1), (&down, 1), (&up, 1), (&down, 2), (&up, 2)] {
            h = Health::compute(&d, state, Some(&h), &cluster());
            assert_eq!(h.link("eth1").unwrap().flaps, flaps);
        }
        // A link that was missing and comes back has not flapped.
        let mut gone = up.clone();
        gone.links.retain(|l| l.name != "mv-pods");
        let h = Health::compute(&d, &gone, Some(&h), &cluster());
        let h = Health::compute(&d, &up, Some(&h), &cluster());
        assert_eq!(h.link("mv-pods").unwrap().flaps, 0);
    }

    #[test]
    fn flaps_follow_the_kernel_counter_even_when_the_carrier_came_back_unseen() {
        let d = desired(DEMO, "server-1");
        let mut s = settled(&d, &["eth1"]);
        link(&mut s, "eth1").carrier_down_count = Some(4);
        let h = Health::compute(&d, &s, None, &cluster());
        assert_eq!(h.link("eth1").unwrap().flaps, 0, "losses before start");
        // Two losses and returns within one burst: carrier on at both looks.
        link(&mut s, "eth1").carrier_down_count = Some(6);
        let h = Health::compute(&d, &s, Some(&h), &cluster());
        assert_eq!(h.link("eth1").unwrap().flaps, 2);
        // Recreated link: its counter starts again, nothing is subtracted.
        link(&mut s, "eth1").carrier_down_count = Some(0);
        let h = Health::compute(&d, &s, Some(&h), &cluster());
        assert_eq!(h.link("eth1").unwrap().flaps, 2);
    }

    #[test]
    fn dhcp_needs_a_leased_address_on_the_link() {
        let text = include_str!("../profiles/dhcp-simple.toml");
        let d = desired(text, "agent-1");
        let mut s = settled(&d, &["eth1"]);
        let h = Health::compute(&d, &s, None, &cluster());
        assert_eq!(h.summary, "offline: cluster down (eth1: no DHCP lease)");
        // A static address is not a lease.
        s.addresses.push(Address {
            link: "eth1".into(),
            address: "192.168.1.3/24".parse().unwrap(),
            valid_lifetime: None,
            preferred_lifetime: None,
            protocol: 0,
            dad: None,
        });
        let h = Health::compute(&d, &s, None, &cluster());
        assert_eq!(h.summary, "offline: cluster down (eth1: no DHCP lease)");
        s.addresses.clear();
        s.addresses.push(Address {
            link: "eth1".into(),
            address: "192.168.1.3/24".parse().unwrap(),
            valid_lifetime: Some(3600),
            preferred_lifetime: Some(3600),
            protocol: 0,
            dad: None,
        });
        assert!(Health::compute(&d, &s, None, &cluster()).online);
    }

    #[test]
    fn online_set_is_configurable() {
        let d = desired(DEMO, "server-1");
        let mut s = settled(&d, &["eth1"]);
        s.links.retain(|l| l.name != "mv-pods");
        let require = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(Health::compute(&d, &s, None, &require(&[])).online);
        assert!(!Health::compute(&d, &s, None, &require(&["cluster", "multus:pods"])).online);
        // A name the node does not have never holds.
        assert!(!Health::compute(&d, &s, None, &require(&["storage"])).online);
        let names: Vec<String> = networks(&d).into_iter().map(|n| n.0).collect();
        assert_eq!(names, ["cluster", "multus:pods"]);
    }

    #[test]
    fn operstate_lagging_behind_the_carrier_is_still_down() {
        let d = desired(DEMO, "server-1");
        let mut s = settled(&d, &["eth1"]);
        link(&mut s, "mv-pods").operstate = OperState::LowerLayerDown;
        let h = Health::compute(&d, &s, None, &cluster());
        assert_eq!(
            h.network("multus:pods").unwrap().reason.as_deref(),
            Some("mv-pods: operstate lowerlayerdown")
        );
        assert!(h.online);
        link(&mut s, "mv-pods").operstate = OperState::Unknown;
        link(&mut s, "eth1").operstate = OperState::Dormant;
        let h = Health::compute(&d, &s, None, &cluster());
        assert_eq!(
            h.network("cluster").unwrap().reason.as_deref(),
            Some("eth1: operstate dormant")
        );
        assert_eq!(h.network("multus:pods").unwrap().level, Level::Down);
        assert!(!h.online);
    }

    #[test]
    fn operstate_and_network_kind_names_are_the_json_names() {
        for o in OperState::ALL {
            assert_eq!(serde_json::to_value(o).unwrap(), operstate_name(o));
        }
        for k in [
            NetworkKind::Cluster,
            NetworkKind::Storage,
            NetworkKind::Multus,
        ] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }

    #[test]
    fn json_form_is_camel_case_and_round_trips() {
        let text = BONDING.replace(
            "mode = \"active-backup\"\nprimary = \"eth1\"",
            "mode = \"802.3ad\"",
        );
        let d = desired(&text, "server-1");
        let s = settled(&d, &["eth1", "eth2"]);
        let h = Health::compute(&d, &s, None, &cluster());
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(v["online"], true);
        assert_eq!(v["networks"][0]["level"], "ok");
        assert_eq!(v["bonds"][0]["portsUp"], 2);
        assert_eq!(v["bonds"][0]["minLinks"], 0);
        assert_eq!(
            v["bonds"][0]["aggregator"]["partnerMac"],
            "02:00:00:00:00:01"
        );
        assert_eq!(v["bonds"][0]["ports"][0]["lacp"]["actorState"], 63);
        assert_eq!(v["bonds"][0]["ports"][0]["miiStatus"], "up");
        assert_eq!(v["links"][0]["adminUp"], true);
        assert_eq!(v["links"][0]["operstate"], "up");
        let back: Health = serde_json::from_value(v).unwrap();
        assert_eq!(back, h);
    }
}
