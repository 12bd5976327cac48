//! MTUs: set on the node's own links only, within what the kernel accepts,
//! and never above the parent's (the kernel refuses a child larger than its
//! parent).

use super::Resolving;
use crate::desired::IPV6_MIN_MTU;

impl Resolving<'_> {
    /// Sets each written MTU on its link.
    pub(super) fn mtu(&mut self) {
        let m = self.merged;
        for (name, &mtu) in &m.mtu {
            let path = m.mtu_path(name);
            if !(68..=65535).contains(&mtu) {
                self.reject(&path, Some(mtu.to_string()), "an MTU from 68 to 65535");
            }
            // The kernel turns IPv6 off on a link below 1280 (RFC 8200 5),
            // so its IPv6 address could never be applied.
            let v6 = self
                .addresses
                .iter()
                .any(|(_, a)| a.link == *name && a.address.addr().is_ipv6());
            if v6 && mtu < IPV6_MIN_MTU {
                self.reject(
                    &path,
                    Some(mtu.to_string()),
                    format!("an MTU of at least {IPV6_MIN_MTU}, since {name} has an IPv6 address"),
                );
            }
            match self.links.get_mut(name) {
                Some(l) => l.mtu = Some(mtu),
                None => self.reject(
                    &path,
                    Some(format!("key {name:?}")),
                    "the name of one of this node's managed interfaces",
                ),
            }
        }
        self.mtu_within_parents();
    }

    fn mtu_within_parents(&mut self) {
        let links = &self.links.list;
        let mtu_of = |name: &str| links.iter().find(|l| l.name == name).and_then(|l| l.mtu);
        let too_big: Vec<(String, u32, String, u32)> = links
            .iter()
            .filter_map(|l| {
                let (parent, mtu) = (l.parent()?, l.mtu?);
                let parent_mtu = mtu_of(parent).filter(|&pm| pm < mtu)?;
                Some((l.name.clone(), mtu, parent.to_string(), parent_mtu))
            })
            .collect();
        for (name, mtu, parent, parent_mtu) in too_big {
            self.reject(
                &self.merged.mtu_path(&name),
                Some(mtu.to_string()),
                format!("at most the MTU of its parent {parent} ({parent_mtu})"),
            );
        }
    }
}
