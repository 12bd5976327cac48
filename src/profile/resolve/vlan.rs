//! A network on a VLAN: its id, and its parent (the trunk, or what the name
//! `<parent>.<vid>` implies), which must be a NIC or the bond.

use super::bond::Bond;
use super::{dotted_parent, is_vlan_name, Resolving};
use crate::desired::{DesiredLink, LinkKind};
use crate::kinds::Network;

impl Resolving<'_> {
    /// Adds the VLAN `name` with id `vid` that `net` runs on, and its parent.
    pub(super) fn vlan(&mut self, net: Network, name: &str, vid: u16, bond: Option<&Bond>) {
        let m = self.merged;
        if !(1..=4094).contains(&vid) {
            self.reject(
                &m.vlan_path(net),
                Some(vid.to_string()),
                "a VLAN id from 1 to 4094",
            );
        }
        let Some(parent) = self.vlan_parent(name, vid) else {
            return;
        };
        if let Some((_, Some(suffix))) = dotted_parent(name) {
            if suffix != vid {
                self.reject(
                    &m.iface_path(net.as_str()),
                    Some(format!("{name:?}")),
                    format!(
                        "a VLAN interface named after its id {vid} (<parent>.{vid}), or {} = {suffix}",
                        m.vlan_path(net)
                    ),
                );
            }
        }
        if !self.vlan_parent_allowed(&parent, name, bond) {
            return;
        }
        let kind = LinkKind::Vlan {
            parent: parent.clone(),
            id: vid,
        };
        match self.links.list.iter().find(|l| l.name == name) {
            Some(existing) if existing.kind != kind => self.reject(
                &m.iface_path(net.as_str()),
                Some(format!("{name:?}")),
                "a name not already used by another link of this node",
            ),
            // Both networks on one VLAN.
            Some(_) => {}
            None => {
                self.links.add_nic(&parent);
                self.links.add(DesiredLink::new(name, kind));
            }
        }
    }

    /// The trunk, else the parent the name implies.
    fn vlan_parent(&mut self, name: &str, vid: u16) -> Option<String> {
        match (&self.merged.interfaces.trunk, dotted_parent(name)) {
            (Some(t), _) => Some(t.clone()),
            (None, Some((p, _))) => Some(p.to_string()),
            (None, None) => {
                self.reject(
                    &self.merged.iface_path("trunk"),
                    None,
                    format!(
                        "missing: expected the parent of VLAN {name} (or name it <parent>.{vid})"
                    ),
                );
                None
            }
        }
    }

    /// A VLAN sits on a NIC or on the bond: not on a bond port, not on
    /// another VLAN.
    fn vlan_parent_allowed(&mut self, parent: &str, name: &str, bond: Option<&Bond>) -> bool {
        let path = self.merged.iface_path("trunk");
        if let Some(bond) = bond.filter(|b| b.ports.contains(parent)) {
            self.reject(
                &path,
                Some(format!("{parent:?}")),
                format!(
                    "a VLAN parent that is not a bond member (VLAN {name} would sit on a port of {})",
                    bond.name
                ),
            );
            return false;
        }
        if bond.map(|b| b.name.as_str()) != Some(parent) && is_vlan_name(parent) {
            self.reject(
                &path,
                Some(format!("{parent:?}")),
                "a VLAN parent that is a NIC or a declared link (the bond)",
            );
            return false;
        }
        true
    }
}
