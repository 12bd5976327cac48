//! Pod address pools of `multus.<nad>` networks: which addresses pods may
//! get, and under `ipam = "node-pools"` which slice of them each node's CNI
//! config hands out.
//!
//! Why slices: `host-local` allocates from files on the node it runs on, so
//! one range shared by every node makes each node hand out the same first
//! addresses on one L2 segment. Giving each node its own disjoint slice
//! keeps `host-local` (no cluster-wide allocator) and makes collisions
//! impossible.
//!
//! The rule for derived slices: the pod range (`rangeStart`-`rangeEnd`,
//! default every host address of the subnet) is cut into blocks of
//! `podsPerNode` addresses (default [`DEFAULT_PODS_PER_NODE`]), and a node
//! takes block `h mod B`, where `h` is the host number of its cluster address
//! (`10.0.1.12/24` → 12) and `B` the number of whole blocks in the range. A
//! node's slice depends only on its own cluster address and the NAD's range
//! and size, never on which other nodes exist, so adding or removing a node
//! never moves another node's slice. Two nodes landing on one block is
//! refused (never silently re-packed), and `podRanges.<node>` then pins one
//! of them explicitly. Changing the range or `podsPerNode` moves slices: that
//! is a renumbering, to be done with the network's pods drained.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::diag::{join, Diags};
use super::model::{AddrRange, MultusIpam, MultusNet, Profile};
use crate::kinds::Network;

/// Addresses a node can attach pods with when `podsPerNode` is not set.
pub const DEFAULT_PODS_PER_NODE: u32 = 16;

/// The addresses pods of `nad` may get: `rangeStart`-`rangeEnd`, each end
/// defaulting to the first/last host address of the subnet.
pub fn pod_range(nad: &MultusNet) -> AddrRange {
    let first_host = u32::from(nad.subnet.v4.network()).saturating_add(1);
    let last_host = u32::from(nad.subnet.v4.broadcast()).saturating_sub(1);
    AddrRange {
        first: nad.range_start.unwrap_or(Ipv4Addr::from(first_host)),
        last: nad.range_end.unwrap_or(Ipv4Addr::from(last_host)),
    }
}

pub fn pods_per_node(nad: &MultusNet) -> u32 {
    nad.pods_per_node.unwrap_or(DEFAULT_PODS_PER_NODE)
}

/// A node's slice of a `node-pools` network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slice {
    /// Written in `podRanges.<node>`.
    Explicit(AddrRange),
    /// Block `block` of the pod range, by the rule in the module docs.
    Derived { range: AddrRange, block: u32 },
}

impl Slice {
    pub fn range(&self) -> AddrRange {
        match *self {
            Slice::Explicit(r) | Slice::Derived { range: r, .. } => r,
        }
    }

    /// The value as a diagnostic shows it.
    fn found(&self, size: u32) -> String {
        match self {
            Slice::Explicit(r) => r.to_string(),
            Slice::Derived { range, block } => {
                format!("{range} (derived: block {block} of {size} addresses)")
            }
        }
    }
}

/// `node`'s slice of `nad`; `None` when it has no explicit slice and none
/// can be derived (no cluster address, or no whole block in the range).
pub fn slice(p: &Profile, nad: &MultusNet, node: &str) -> Option<Slice> {
    if let Some(r) = nad.pod_ranges.get(node) {
        return Some(Slice::Explicit(*r));
    }
    let cluster = p.ip_addresses.get(node)?.get(&Network::Cluster)?.v4?;
    let host = u32::from(cluster.addr()) - u32::from(cluster.network());
    let range = pod_range(nad);
    let size = pods_per_node(nad);
    let blocks = range.size().checked_div(size).filter(|b| *b > 0)?;
    let block = host % blocks;
    let first = u32::from(range.first) + block * size;
    Some(Slice::Derived {
        range: AddrRange {
            first: Ipv4Addr::from(first),
            last: Ipv4Addr::from(first + size - 1),
        },
        block,
    })
}

/// The addresses of `nad` no pod may get, each with what it is, lowest
/// first.
pub fn reserved(nad: &MultusNet) -> Vec<(Ipv4Addr, String)> {
    let mut r = vec![
        (nad.subnet.v4.network(), "the network address".to_string()),
        (
            nad.subnet.v4.broadcast(),
            "the broadcast address".to_string(),
        ),
    ];
    if let Some(g) = nad.gateway {
        r.push((g, "the gateway".to_string()));
    }
    for (node, a) in &nad.host_addresses {
        r.push((*a, format!("{node}'s host shim address")));
    }
    r.sort();
    r
}

/// Checks the IPAM settings of every NAD against the whole profile.
pub fn check(p: &Profile, d: &mut Diags) {
    let nodes = p.node_names();
    for (name, nad) in &p.multus {
        let base = join("multus", name);
        let ipam = nad.ipam.unwrap_or_default();
        if ipam != MultusIpam::NodePools {
            only_node_pools(nad, &base, ipam, d);
        }
        match ipam {
            MultusIpam::NodePools => node_pools(p, nad, &base, &nodes, d),
            MultusIpam::HostLocal if nodes.len() > 1 => d.push(
                &join(&base, "ipam"),
                Some(format!("\"host-local\" with {} nodes", nodes.len())),
                "\"node-pools\" or \"whereabouts\": host-local allocates from each node's own files, so every node would hand out the same addresses on one L2 segment",
            ),
            MultusIpam::Static => {
                for (field, set) in [
                    ("rangeStart", nad.range_start.is_some()),
                    ("rangeEnd", nad.range_end.is_some()),
                ] {
                    if set {
                        d.push(
                            &join(&base, field),
                            None,
                            "not set: static IPAM has no range (pods name their address)",
                        );
                    }
                }
            }
            MultusIpam::HostLocal | MultusIpam::Whereabouts => {}
        }
    }
}

/// `podRanges` and `podsPerNode` mean nothing to the other IPAM choices.
fn only_node_pools(nad: &MultusNet, base: &str, ipam: MultusIpam, d: &mut Diags) {
    let expected = format!(
        "not set: it is for ipam \"node-pools\", not {:?}",
        ipam.as_str()
    );
    if !nad.pod_ranges.is_empty() {
        d.push(&join(base, "podRanges"), None, expected.clone());
    }
    if nad.pods_per_node.is_some() {
        d.push(&join(base, "podsPerNode"), None, expected);
    }
}

fn node_pools(p: &Profile, nad: &MultusNet, base: &str, nodes: &[String], d: &mut Diags) {
    let range = pod_range(nad);
    let size = pods_per_node(nad);
    let size_path = join(base, "podsPerNode");
    if size == 0 {
        d.push(&size_path, Some("0".into()), "at least 1");
        return;
    }
    if size > range.size() {
        d.push(
            &size_path,
            Some(size.to_string()),
            format!(
                "at most {}, the size of the pod range {range} (rangeStart-rangeEnd)",
                range.size()
            ),
        );
    }
    let ranges_path = join(base, "podRanges");
    for n in nad.pod_ranges.keys().filter(|n| !nodes.contains(n)) {
        d.push(
            &join(&ranges_path, n),
            Some(format!("node {n:?}")),
            "a node of this profile",
        );
    }
    let reserved = reserved(nad);
    let mut taken: BTreeMap<&str, AddrRange> = BTreeMap::new();
    for node in nodes {
        let path = join(&ranges_path, node);
        let Some(slice) = slice(p, nad, node) else {
            if size <= range.size() {
                d.push(
                    &path,
                    None,
                    "missing: this node's slice (it has no cluster address to derive one from)",
                );
            }
            continue;
        };
        let r = slice.range();
        let found = Some(slice.found(size));
        if r.first > r.last {
            d.push(
                &path,
                found,
                "a range whose first address is not above its last",
            );
            continue;
        }
        if !nad.subnet.v4.contains(&r.first) || !nad.subnet.v4.contains(&r.last) {
            d.push(
                &path,
                found,
                format!("a range inside subnet {}", nad.subnet.v4),
            );
            continue;
        }
        if r.size() < size {
            d.push(
                &path,
                found.clone(),
                format!("a slice of at least podsPerNode = {size} addresses"),
            );
        }
        if let Some((a, what)) = reserved.iter().find(|(a, _)| r.contains(*a)) {
            d.push(
                &path,
                found.clone(),
                format!("a slice without {a} ({what}): no pod may get it"),
            );
        }
        if let Some((other, o)) = taken.iter().find(|(_, o)| o.overlaps(&r)) {
            let fix = match slice {
                Slice::Derived { .. } => "; set podRanges of one of them",
                Slice::Explicit(_) => "",
            };
            d.push(
                &path,
                found,
                format!("a slice no other node's overlaps ({other} has {o}{fix})"),
            );
        }
        taken.insert(node, r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::model::NetAddrs;
    use crate::profile::{parse, Format};

    /// server-1 (cluster .1, shim 192.168.30.1) and agent-1 (cluster .3,
    /// shim .3); `multus.pods` is its last table, so text appended to it
    /// adds keys to that NAD.
    const DEMO: &str = include_str!("../../profiles/demo.toml");

    fn profile(extra: &str) -> Result<Profile, Vec<String>> {
        parse(&format!("{DEMO}{extra}"), Format::Toml)
            .map_err(|d| d.iter().map(ToString::to_string).collect())
    }

    fn slices(p: &Profile) -> BTreeMap<String, String> {
        let nad = &p.multus["pods"];
        p.node_names()
            .into_iter()
            .map(|n| {
                let s = slice(p, nad, &n).unwrap().range().to_string();
                (n, s)
            })
            .collect()
    }

    fn with_node(p: &Profile, node: &str, cluster: &str) -> Profile {
        let mut p = p.clone();
        let mut addrs = BTreeMap::new();
        let v4 = Some(cluster.parse().unwrap());
        addrs.insert(Network::Cluster, NetAddrs { v4, v6: None });
        p.ip_addresses.insert(node.into(), addrs);
        p
    }

    #[test]
    fn derived_slices_follow_the_cluster_host_number() {
        let p = profile("").unwrap();
        let s = slices(&p);
        // 241 addresses from .10: 15 blocks of 16; .1 → block 1, .3 → block 3.
        assert_eq!(s["server-1"], "192.168.30.26-192.168.30.41");
        assert_eq!(s["agent-1"], "192.168.30.58-192.168.30.73");
    }

    #[test]
    fn adding_or_removing_a_node_never_moves_another_slice() {
        let p = profile("").unwrap();
        let before = slices(&p);
        let grown = with_node(&p, "agent-2", "192.168.1.4/24");
        let after = slices(&grown);
        assert_eq!(after.len(), 3);
        for (n, s) in &before {
            assert_eq!(&after[n], s, "{n} moved when agent-2 joined");
        }
        let mut shrunk = p.clone();
        shrunk.ip_addresses.remove("server-1");
        shrunk.nodes.remove("server-1");
        assert_eq!(slices(&shrunk)["agent-1"], before["agent-1"]);
    }

    #[test]
    fn explicit_slices_win_and_size_follows_pods_per_node() {
        let p = profile(
            "podsPerNode = 8\npodRanges = { agent-1 = \"192.168.30.200-192.168.30.239\" }\n",
        )
        .unwrap();
        let s = slices(&p);
        assert_eq!(s["agent-1"], "192.168.30.200-192.168.30.239");
        assert_eq!(s["server-1"], "192.168.30.18-192.168.30.25");
    }

    #[test]
    fn colliding_derived_blocks_are_refused_not_repacked() {
        // 192.168.1.18 is host 18 = 3 mod 15: agent-1's block.
        let mut p = profile("").unwrap();
        p = with_node(&p, "agent-2", "192.168.1.18/24");
        let mut d = Diags::default();
        check(&p, &mut d);
        let msgs: Vec<String> = d.into_vec().iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            ["multus.pods.podRanges.agent-2: found 192.168.30.58-192.168.30.73 (derived: block 3 of 16 addresses), expected a slice no other node's overlaps (agent-1 has 192.168.30.58-192.168.30.73; set podRanges of one of them)"]
        );
    }

    #[test]
    fn every_problem_names_its_field() {
        let e = profile(
            "podRanges = { server-1 = \"192.168.30.1-192.168.30.40\", agent-1 = \"192.168.30.30-192.168.30.31\", ghost = \"192.168.30.100-192.168.30.120\" }\n",
        )
        .unwrap_err();
        let want = [
            "multus.pods.podRanges.agent-1: found 192.168.30.30-192.168.30.31, expected a slice of at least podsPerNode = 16 addresses",
            "multus.pods.podRanges.server-1: found 192.168.30.1-192.168.30.40, expected a slice without 192.168.30.1 (server-1's host shim address): no pod may get it",
            "multus.pods.podRanges.server-1: found 192.168.30.1-192.168.30.40, expected a slice no other node's overlaps (agent-1 has 192.168.30.30-192.168.30.31)",
            "multus.pods.podRanges.ghost: found node \"ghost\", expected a node of this profile",
        ];
        for w in want {
            assert!(e.iter().any(|m| m == w), "{w}\nnot in {e:#?}");
        }
        let e = profile("podRanges = { agent-1 = \"192.168.31.1-192.168.31.40\" }\n").unwrap_err();
        assert!(
            e.iter()
                .any(|m| m.ends_with("expected a range inside subnet 192.168.30.0/24")),
            "{e:?}"
        );
        let e = profile("podsPerNode = 300\n").unwrap_err();
        assert!(e.iter().any(|m| m == "multus.pods.podsPerNode: found 300, expected at most 241, the size of the pod range 192.168.30.10-192.168.30.250 (rangeStart-rangeEnd)"), "{e:?}");
        let e = profile("gateway = \"192.168.30.30\"\n").unwrap_err();
        assert!(
            e.iter()
                .any(|m| m.contains("expected a slice without 192.168.30.30 (the gateway)")),
            "{e:?}"
        );
    }

    #[test]
    fn other_ipam_choices() {
        let e = profile("ipam = \"host-local\"\n").unwrap_err();
        assert!(e.iter().any(|m| m.starts_with("multus.pods.ipam: found \"host-local\" with 2 nodes, expected \"node-pools\" or \"whereabouts\": host-local allocates from each node's own files")), "{e:?}");
        let e = profile("ipam = \"dhcp\"\n").unwrap_err();
        assert!(
            e.iter().any(|m| m.starts_with(
                "multus.pods.ipam: found \"dhcp\", expected \"node-pools\", \"whereabouts\""
            )),
            "{e:?}"
        );
        let e = profile("ipam = \"whereabouts\"\npodsPerNode = 4\n").unwrap_err();
        assert!(e.iter().any(|m| m == "multus.pods.podsPerNode: not set: it is for ipam \"node-pools\", not \"whereabouts\""), "{e:?}");
        let e = profile("ipam = \"static\"\n").unwrap_err();
        assert!(e.iter().any(|m| m == "multus.pods.rangeStart: not set: static IPAM has no range (pods name their address)"), "{e:?}");
        assert!(profile("ipam = \"whereabouts\"\n").is_ok());
    }
}
