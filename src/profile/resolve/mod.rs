//! Profile + node → [`DesiredNetwork`], checking everything that can only be
//! judged once one node's settings are merged (per-node overrides, bond
//! defaults, VLAN parents, shims). Problems name the field path they come
//! from: the node's override when it set the value, the profile-wide field
//! otherwise.
//!
//! One `Resolving` context collects the node's links, addresses and
//! problems; each file resolves one part of the node against it, in the
//! order [`resolve_node`] calls them (that order is the order problems are
//! reported in).

mod addresses;
mod bond;
mod merged;
mod mtu;
mod multus;
mod networks;
mod routes;
mod vlan;

use super::diag::{Diagnostic, Diags};
use super::model::Profile;
use crate::desired::{DesiredAddress, DesiredLink, DesiredNetwork, LinkKind};
use crate::kinds::Network;
use merged::Merged;

pub(super) use addresses::link_local;
pub use multus::default_shim_name;

/// The kernel's limit on interface names (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;

/// Resolves one node; every problem found is returned at once.
pub fn resolve(profile: &Profile, node: &str) -> Result<DesiredNetwork, Vec<Diagnostic>> {
    let mut d = Diags::default();
    match resolve_node(profile, node, &mut d) {
        Some(n) if d.is_empty() => Ok(n),
        _ => Err(d.into_vec()),
    }
}

/// Why an interface name is not one the kernel accepts, if it is not.
pub fn ifname_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("a non-empty interface name")
    } else if name.len() > IFNAME_MAX {
        Some("an interface name of at most 15 bytes")
    } else if name == "." || name == ".." {
        Some("an interface name other than . and ..")
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
    {
        Some("an interface name without '/', ':' or whitespace")
    } else {
        None
    }
}

/// Resolves one node into `d` (which knows source positions when validating
/// a file); `None` when a problem was found.
pub fn resolve_node(p: &Profile, node: &str, d: &mut Diags) -> Option<DesiredNetwork> {
    let merged = Merged::new(p, node);
    let mut r = Resolving {
        profile: p,
        merged: &merged,
        diags: d,
        links: Links::default(),
        addresses: Vec::new(),
        ok: true,
    };
    let bond = r.bond();
    let net_links = r.networks(bond.as_ref());
    r.flat_trunk(bond.is_some());
    let cluster_ip = r.addresses(&net_links);
    r.multus();
    r.check_overlaps();
    r.mtu();
    let routes = r.routes(cluster_ip);
    if !r.ok {
        return None;
    }
    Some(DesiredNetwork {
        node: node.to_string(),
        role: merged.over.and_then(|o| o.role),
        mode: p.mode,
        cluster_interface: net_links.get(&Network::Cluster).cloned()?,
        cluster_ip: cluster_ip?,
        links: order_links(r.links.list),
        addresses: r.addresses.into_iter().map(|(_, a)| a).collect(),
        routes,
    })
}

/// One node being resolved: what it is resolved from, what has been built so
/// far, and the problems found so far.
struct Resolving<'a> {
    profile: &'a Profile,
    merged: &'a Merged<'a>,
    diags: &'a mut Diags,
    links: Links,
    /// Each address with the field path it was written at.
    addresses: Vec<(String, DesiredAddress)>,
    /// False once a problem was found: the node resolves to nothing.
    ok: bool,
}

impl Resolving<'_> {
    fn node(&self) -> &str {
        self.merged.node
    }

    /// Reports a problem at `path`; the node no longer resolves.
    fn reject(&mut self, path: &str, found: Option<String>, expected: impl Into<String>) {
        self.diags.push(path, found, expected);
        self.ok = false;
    }

    /// Rejects `name` at `path` unless the kernel accepts it as a link name.
    fn check_name(&mut self, path: &str, name: &str) -> bool {
        match ifname_problem(name) {
            Some(expected) => {
                self.reject(path, Some(format!("{name:?}")), expected);
                false
            }
            None => true,
        }
    }
}

/// Builder of one node's links, keeping names unique.
#[derive(Default)]
struct Links {
    list: Vec<DesiredLink>,
}

impl Links {
    fn get_mut(&mut self, name: &str) -> Option<&mut DesiredLink> {
        self.list.iter_mut().find(|l| l.name == name)
    }

    fn has(&self, name: &str) -> bool {
        self.list.iter().any(|l| l.name == name)
    }

    fn add(&mut self, link: DesiredLink) {
        self.list.push(link);
    }

    /// Adds a NIC named `name` unless some link has that name already.
    fn add_nic(&mut self, name: &str) {
        if !self.has(name) {
            self.add(DesiredLink::new(name, LinkKind::Ethernet));
        }
    }
}

/// The parent a VLAN named `<parent>.<vid>` implies.
fn dotted_parent(name: &str) -> Option<(&str, Option<u16>)> {
    let (parent, vid) = name.rsplit_once('.')?;
    Some((parent, vid.parse().ok()))
}

/// True for names like `eth1.100`, which only a VLAN may carry.
fn is_vlan_name(name: &str) -> bool {
    dotted_parent(name).is_some_and(|(_, vid)| vid.is_some())
}

/// Orders links so every parent (and bond) precedes its children and ports
/// follow... before their bond: NICs, bonds, VLANs, shims, each by name.
fn order_links(mut links: Vec<DesiredLink>) -> Vec<DesiredLink> {
    let rank = |l: &DesiredLink| match &l.kind {
        LinkKind::Ethernet => 0,
        LinkKind::Bond(_) => 1,
        LinkKind::Vlan { .. } => 2,
        LinkKind::Macvlan { .. } | LinkKind::Ipvlan { .. } => 3,
    };
    links.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.name.cmp(&b.name)));
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_the_kernel_refuses() {
        assert_eq!(ifname_problem("eth1.100"), None);
        assert!(ifname_problem("").is_some());
        assert!(ifname_problem("abcdefghijklmnop").is_some());
        assert_eq!(ifname_problem("abcdefghijklmno"), None);
        assert!(ifname_problem("..").is_some());
        assert!(ifname_problem("eth/1").is_some());
        assert!(ifname_problem("eth 1").is_some());
    }

    #[test]
    fn dotted_names_imply_a_parent_and_maybe_a_vid() {
        assert_eq!(dotted_parent("eth1.100"), Some(("eth1", Some(100))));
        assert_eq!(dotted_parent("bond0.x"), Some(("bond0", None)));
        assert_eq!(dotted_parent("eth1"), None);
        assert!(is_vlan_name("eth1.100"));
        assert!(!is_vlan_name("bond0.x"));
    }

    #[test]
    fn links_are_ordered_parents_first() {
        let vlan = DesiredLink::new(
            "eth1.100",
            LinkKind::Vlan {
                parent: "eth1".into(),
                id: 100,
            },
        );
        let ordered = order_links(vec![vlan, DesiredLink::new("eth1", LinkKind::Ethernet)]);
        let names: Vec<&str> = ordered.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["eth1", "eth1.100"]);
    }
}
