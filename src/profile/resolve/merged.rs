//! One node's settings: the profile-wide ones with `nodes.<node>` laid over
//! them, and for each the field path to blame, so a problem points at the
//! line the operator has to change.

use crate::kinds::Network;
use crate::profile::diag::join;
use crate::profile::model::{BondConfig, Gateways, Interfaces, NodeOverride, Profile, RouteSpec};
use std::collections::BTreeMap;

/// One node's settings, the profile's merged with `nodes.<node>`, with the
/// path each came from.
pub(super) struct Merged<'p> {
    pub over: Option<&'p NodeOverride>,
    pub node: &'p str,
    pub interfaces: Interfaces,
    pub vlan_ids: BTreeMap<Network, u16>,
    pub bond: Option<BondConfig>,
    /// The node's `gateway` when it has one, else the profile's (both
    /// families: a node's gateway replaces the profile's whole).
    pub gateway: Option<Gateways>,
    pub mtu: BTreeMap<String, u32>,
    /// Profile-wide routes first, then the node's, each with its path.
    pub routes: Vec<(String, &'p RouteSpec)>,
}

impl<'p> Merged<'p> {
    pub fn new(p: &'p Profile, node: &'p str) -> Self {
        let over = p.nodes.get(node);
        let interfaces = match over.and_then(|o| o.interfaces.as_ref()) {
            Some(i) => p.interfaces.merged(i),
            None => p.interfaces.clone(),
        };
        let mut vlan_ids = p.vlan_ids.clone();
        let mut mtu = p.mtu.clone();
        let mut routes: Vec<(String, &RouteSpec)> = p
            .routes
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("routes[{i}]"), r))
            .collect();
        let mut bond = p.bond_config.clone();
        if let Some(o) = over {
            vlan_ids.extend(o.vlan_ids.iter().map(|(k, v)| (*k, *v)));
            mtu.extend(o.mtu.iter().map(|(k, v)| (k.clone(), *v)));
            routes.extend(o.routes.iter().enumerate().map(|(i, r)| {
                (
                    format!("{}[{i}]", join(&Self::node_path(node), "routes")),
                    r,
                )
            }));
            if let Some(b) = &o.bond_config {
                bond = Some(bond.unwrap_or_default().merged(b));
            }
        }
        Merged {
            over,
            node,
            interfaces,
            vlan_ids,
            bond,
            gateway: over.and_then(|o| o.gateway).or(p.gateway),
            mtu,
            routes,
        }
    }

    fn node_path(node: &str) -> String {
        join("nodes", node)
    }

    /// Where `field` (a path below the profile root) was set for this node.
    pub fn path(&self, field: &str, overridden: impl Fn(&NodeOverride) -> bool) -> String {
        match self.over {
            Some(o) if overridden(o) => format!("{}.{field}", Self::node_path(self.node)),
            _ => field.to_string(),
        }
    }

    pub fn iface_path(&self, which: &str) -> String {
        self.path(&format!("interfaces.{which}"), |o| {
            o.interfaces.as_ref().is_some_and(|i| match which {
                "cluster" => i.cluster.is_some(),
                "storage" => i.storage.is_some(),
                "trunk" => i.trunk.is_some(),
                _ => i.bond_members.is_some(),
            })
        })
    }

    pub fn vlan_path(&self, net: Network) -> String {
        self.path(&format!("vlanIds.{net}"), |o| o.vlan_ids.contains_key(&net))
    }

    pub fn bond_path(&self, field: &str, set: impl Fn(&BondConfig) -> bool) -> String {
        self.path(&format!("bondConfig.{field}"), |o| {
            o.bond_config.as_ref().is_some_and(&set)
        })
    }

    pub fn mtu_path(&self, link: &str) -> String {
        let base = self.path("mtu", |o| o.mtu.contains_key(link));
        join(&base, link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(to: &str) -> RouteSpec {
        RouteSpec {
            to: to.parse().unwrap(),
            via: None,
            dev: Some("eth1".into()),
            metric: None,
        }
    }

    /// Cluster on VLAN 200 of eth1; node b moves it to VLAN 300 of eth2.
    fn profile() -> Profile {
        let b = NodeOverride {
            interfaces: Some(Interfaces {
                cluster: Some("eth2.300".into()),
                trunk: Some("eth2".into()),
                ..Interfaces::default()
            }),
            vlan_ids: [(Network::Cluster, 300)].into(),
            mtu: [("eth2".to_string(), 1500)].into(),
            routes: vec![route("10.60.0.0/16")],
            ..NodeOverride::default()
        };
        Profile {
            interfaces: Interfaces {
                cluster: Some("eth1.200".into()),
                trunk: Some("eth1".into()),
                ..Interfaces::default()
            },
            vlan_ids: [(Network::Cluster, 200)].into(),
            mtu: [("eth1".to_string(), 9000)].into(),
            routes: vec![route("10.50.0.0/16")],
            nodes: [("b".to_string(), b)].into(),
            ..Profile::default()
        }
    }

    #[test]
    fn node_overrides_win_and_are_blamed() {
        let p = profile();
        let b = Merged::new(&p, "b");
        assert_eq!(b.interfaces.cluster.as_deref(), Some("eth2.300"));
        assert_eq!(b.vlan_ids[&Network::Cluster], 300);
        assert_eq!(b.iface_path("cluster"), "nodes.b.interfaces.cluster");
        assert_eq!(b.iface_path("storage"), "interfaces.storage");
        assert_eq!(b.vlan_path(Network::Cluster), "nodes.b.vlanIds.cluster");
        assert_eq!(b.mtu_path("eth2"), "nodes.b.mtu.eth2");
        assert_eq!(b.mtu_path("eth1"), "mtu.eth1");
        let paths: Vec<&str> = b.routes.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["routes[0]", "nodes.b.routes[0]"]);
    }

    #[test]
    fn nodes_without_overrides_blame_the_profile() {
        let p = profile();
        let a = Merged::new(&p, "a");
        assert_eq!(a.interfaces.cluster.as_deref(), Some("eth1.200"));
        assert_eq!(a.iface_path("cluster"), "interfaces.cluster");
        assert_eq!(a.vlan_path(Network::Cluster), "vlanIds.cluster");
        assert_eq!(a.bond_path("mode", |b| b.mode.is_some()), "bondConfig.mode");
        assert_eq!(a.routes.len(), 1);
    }
}
