//! The logical networks: each runs on a VLAN, the bond, or a NIC; and the
//! trunk of VLANs on a plain NIC is a managed NIC too.

use std::collections::BTreeMap;

use super::bond::Bond;
use super::{dotted_parent, Resolving};
use crate::desired::{DesiredLink, LinkKind};
use crate::kinds::Network;

impl Resolving<'_> {
    /// The link each of the node's networks runs on.
    pub(super) fn networks(&mut self, bond: Option<&Bond>) -> BTreeMap<Network, String> {
        Network::ALL
            .into_iter()
            .filter_map(|net| Some((net, self.network(net, bond)?)))
            .collect()
    }

    /// The link `net` runs on; `None` when the node does not have `net` or
    /// its link is wrong.
    fn network(&mut self, net: Network, bond: Option<&Bond>) -> Option<String> {
        let m = self.merged;
        let ipath = m.iface_path(net.as_str());
        let Some(name) = m.interfaces.network(net).map(str::to_string) else {
            self.missing_network(net, &ipath);
            return None;
        };
        if !self.check_name(&ipath, &name) {
            return None;
        }
        if bond.is_some_and(|b| b.ports.contains(&name)) {
            self.reject(
                &ipath,
                Some(format!("{name:?}")),
                "an interface that is not a bond member",
            );
            return None;
        }
        match m.vlan_ids.get(&net) {
            Some(&vid) => self.vlan(net, &name, vid, bond),
            None => {
                if let Some((parent, Some(_))) = dotted_parent(&name) {
                    if bond.map(|b| b.name.as_str()) != Some(name.as_str()) {
                        self.reject(
                            &m.vlan_path(net),
                            None,
                            format!("missing: {name:?} is named like a VLAN on {parent}, so the VLAN id is needed"),
                        );
                        return None;
                    }
                }
                self.links.add_nic(&name);
            }
        }
        if let Some(l) = self.links.get_mut(&name) {
            if l.network.is_none() {
                l.network = Some(net);
            }
        }
        Some(name)
    }

    /// The cluster network is required; another only when its VLAN id is set.
    fn missing_network(&mut self, net: Network, ipath: &str) {
        let m = self.merged;
        if net == Network::Cluster {
            self.reject(ipath, None, "missing: expected the cluster interface name");
        } else if m.vlan_ids.contains_key(&net) {
            self.reject(
                ipath,
                None,
                format!(
                    "missing: expected the {net} interface, since {} is set",
                    m.vlan_path(net)
                ),
            );
        }
    }

    /// The trunk of a flat NIC trunk (VLANs on eth1) is a managed NIC.
    pub(super) fn flat_trunk(&mut self, bonded: bool) {
        let m = self.merged;
        if let Some(trunk) = &m.interfaces.trunk {
            if !bonded && !self.links.has(trunk) && self.check_name(&m.iface_path("trunk"), trunk) {
                self.links.add(DesiredLink::new(trunk, LinkKind::Ethernet));
            }
        }
    }
}
