//! Multus networks: each NAD's settings checked against the node's links,
//! and on nodes with a host address, the host shim (a macvlan or ipvlan on
//! the NAD's master) that lets the node reach its own pods.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::addresses::{host_problem, link_local};
use super::{ifname_problem, is_vlan_name, Resolving, IFNAME_MAX};
use crate::desired::{DesiredAddress, DesiredLink, LinkKind};
use crate::kinds::{IpvlanMode, KernelEnum, MacvlanMode};
use crate::profile::diag::join;
use crate::profile::model::{MultusIpam, MultusKind, MultusNet};

/// One NAD being resolved.
struct Nad<'a> {
    name: &'a str,
    spec: &'a MultusNet,
    /// `multus.<name>`, below which its fields are.
    base: String,
    /// The master is one of the node's links (else a NIC named only here).
    managed: bool,
}

impl Nad<'_> {
    fn path(&self, field: &str) -> String {
        join(&self.base, field)
    }
}

/// The kind of shim each master carries, and the NAD that put it there.
type MasterKinds<'a> = BTreeMap<&'a str, (MultusKind, String)>;

/// Default shim name: `mv-<nad>` / `iv-<nad>`, cut to the kernel's limit.
pub fn default_shim_name(kind: MultusKind, nad: &str) -> String {
    let prefix = match kind {
        MultusKind::Ipvlan => "iv-",
        _ => "mv-",
    };
    let mut s = format!("{prefix}{nad}");
    while s.len() > IFNAME_MAX {
        s.pop();
    }
    s
}

impl<'a> Resolving<'a> {
    /// Checks every NAD; adds the shims of this node.
    pub(super) fn multus(&mut self) {
        let mut master_kinds = MasterKinds::new();
        for (name, spec) in &self.profile.multus {
            let nad = Nad {
                name,
                spec,
                base: join("multus", name),
                managed: self.links.has(&spec.master),
            };
            self.nad(&nad, &mut master_kinds);
        }
    }

    fn nad(&mut self, nad: &Nad<'a>, master_kinds: &mut MasterKinds<'a>) {
        let spec = nad.spec;
        if !nad.managed && (ifname_problem(&spec.master).is_some() || is_vlan_name(&spec.master)) {
            self.reject(
                &nad.path("master"),
                Some(format!("{:?}", spec.master)),
                format!("one of {}'s interfaces or a NIC", self.node()),
            );
            return;
        }
        match spec.kind {
            MultusKind::Macvlan | MultusKind::Ipvlan => self.shim_nad(nad, master_kinds),
            MultusKind::Vlan => self.vlan_nad(nad),
        }
        let kind = self.shim_kind(nad);
        self.ipam_range(nad);
        if let Some(kind) = kind {
            self.shim(nad, kind);
        }
    }

    /// The kernel refuses macvlan and ipvlan on one master.
    fn shim_nad(&mut self, nad: &Nad<'a>, master_kinds: &mut MasterKinds<'a>) {
        let spec = nad.spec;
        match master_kinds.get(spec.master.as_str()) {
            Some((other_kind, other)) if *other_kind != spec.kind => self.reject(
                &nad.path("type"),
                Some(format!("{:?}", spec.kind.as_str())),
                format!("{} like {other} on master {} (the kernel refuses macvlan and ipvlan on one master)", other_kind.as_str(), spec.master),
            ),
            Some(_) => {}
            None => {
                master_kinds.insert(&spec.master, (spec.kind, nad.base.clone()));
            }
        }
        if spec.vlan_id.is_some() {
            self.reject(
                &nad.path("vlanId"),
                None,
                "not set: vlanId is only for type \"vlan\"",
            );
        }
    }

    /// A vlan NAD has a VID, which no host VLAN on its master uses; it has
    /// no mode and no shim.
    fn vlan_nad(&mut self, nad: &Nad<'_>) {
        let spec = nad.spec;
        let vpath = nad.path("vlanId");
        match spec.vlan_id {
            None => self.reject(
                &vpath,
                None,
                "missing: expected the VLAN id of this vlan NAD",
            ),
            Some(v) if !(1..=4094).contains(&v) => {
                self.reject(&vpath, Some(v.to_string()), "a VLAN id from 1 to 4094")
            }
            Some(v) => {
                let host_vlan = LinkKind::Vlan {
                    parent: spec.master.clone(),
                    id: v,
                };
                let clash = self.links.list.iter().find(|l| l.kind == host_vlan);
                if let Some(host) = clash.map(|l| l.name.clone()) {
                    self.reject(
                        &vpath,
                        Some(v.to_string()),
                        format!("a VID other than that of host VLAN {host} on {} (both would claim the same tag)", spec.master),
                    );
                }
            }
        }
        if spec.mode.is_some() {
            self.reject(
                &nad.path("mode"),
                None,
                "not set: mode is for macvlan and ipvlan",
            );
        }
        if !spec.host_addresses.is_empty() {
            self.reject(
                &nad.path("hostAddresses"),
                None,
                "not set: a vlan NAD has no host shim",
            );
        }
    }

    /// The link kind of a macvlan/ipvlan NAD's shim; `None` for vlan NADs and
    /// unknown modes.
    fn shim_kind(&mut self, nad: &Nad<'_>) -> Option<LinkKind> {
        let spec = nad.spec;
        let (written, path) = (spec.mode.as_deref(), nad.path("mode"));
        let parent = spec.master.clone();
        match spec.kind {
            MultusKind::Macvlan => self
                .shim_mode(written, MacvlanMode::Bridge, &path)
                .map(|mode| LinkKind::Macvlan { parent, mode }),
            MultusKind::Ipvlan => self
                .shim_mode(written, IpvlanMode::L2, &path)
                .map(|mode| LinkKind::Ipvlan { parent, mode }),
            MultusKind::Vlan => None,
        }
    }

    /// A NAD's macvlan/ipvlan mode, `default` when not written.
    fn shim_mode<T: KernelEnum>(
        &mut self,
        written: Option<&str>,
        default: T,
        path: &str,
    ) -> Option<T> {
        let Some(m) = written else {
            return Some(default);
        };
        let v = m.parse().ok();
        if v.is_none() {
            self.reject(
                path,
                Some(format!("{m:?}")),
                format!("a {}: one of {}", T::WHAT, T::names()),
            );
        }
        v
    }

    /// IPAM: the range and the gateway lie inside the subnet, in order.
    fn ipam_range(&mut self, nad: &Nad<'_>) {
        let spec = nad.spec;
        for (field, a) in [
            ("rangeStart", spec.range_start),
            ("rangeEnd", spec.range_end),
            ("gateway", spec.gateway),
        ] {
            if let Some(a) = a.filter(|a| !spec.subnet.v4.contains(a)) {
                self.reject(
                    &nad.path(field),
                    Some(a.to_string()),
                    format!("an address inside subnet {}", spec.subnet.v4),
                );
            }
        }
        if let (Some(s), Some(e)) = (spec.range_start, spec.range_end) {
            if s > e {
                self.reject(
                    &nad.path("rangeEnd"),
                    Some(e.to_string()),
                    format!("an address not below rangeStart {s}"),
                );
            }
        }
    }

    /// Adds the shim of `kind` and its address, if this node has one.
    fn shim(&mut self, nad: &Nad<'_>, kind: LinkKind) {
        let spec = nad.spec;
        let Some(&host) = spec.host_addresses.get(self.merged.node) else {
            return;
        };
        let hpath = join(&nad.path("hostAddresses"), self.merged.node);
        let shim = spec
            .host_interface
            .clone()
            .unwrap_or_else(|| default_shim_name(spec.kind, nad.name));
        if !self.check_name(&nad.path("hostInterface"), &shim) {
            return;
        }
        if self.links.has(&shim) {
            self.reject(
                &nad.path("hostInterface"),
                Some(format!("{shim:?}")),
                "a name not already used by another link of this node",
            );
            return;
        }
        self.shim_address(&hpath, spec, host);
        if !nad.managed {
            self.links.add_nic(&spec.master);
        }
        let mut l = DesiredLink::new(&shim, kind);
        l.multus = Some(nad.name.to_string());
        self.links.add(l);
        let mut addresses = vec![IpNet::V4(shim_net(spec, host))];
        // A dual-stack NAD: the shim's IPv6 twin, and the link-local address
        // every link with IPv6 gets (the policy of `address_v6`).
        if let (Some(twin), Some(v6)) = (spec.twin(host), spec.subnet.v6) {
            let twin = Ipv6Net::new(twin, v6.prefix_len()).unwrap_or_default();
            addresses.extend([IpNet::V6(twin), IpNet::V6(link_local(twin.addr()))]);
        }
        for address in addresses {
            let address = DesiredAddress {
                link: shim.clone(),
                address,
            };
            self.addresses.push((hpath.clone(), address));
        }
    }

    /// The shim's address: a host address in the subnet, outside the IPAM
    /// range (IPAM could hand it to a pod) and not the gateway.
    fn shim_address(&mut self, hpath: &str, spec: &MultusNet, host: Ipv4Addr) {
        let found = Some(host.to_string());
        if !spec.subnet.v4.contains(&host) {
            self.reject(
                hpath,
                found.clone(),
                format!("an address inside subnet {}", spec.subnet.v4),
            );
        } else if let Some(expected) = host_problem(shim_net(spec, host)) {
            self.reject(hpath, found.clone(), expected);
        } else if let (Some(s), Some(e), false) = (
            spec.range_start,
            spec.range_end,
            // whereabouts is told to exclude the shims.
            spec.ipam == Some(MultusIpam::Whereabouts),
        ) {
            if (s..=e).contains(&host) {
                self.reject(
                    hpath,
                    found.clone(),
                    format!(
                        "an address outside the IPAM range {s}-{e} (IPAM could hand it to a pod)"
                    ),
                );
            }
        }
        if spec.gateway == Some(host) {
            self.reject(hpath, found, "an address other than the NAD's gateway");
        }
    }
}

/// The shim's address with the subnet's prefix.
fn shim_net(spec: &MultusNet, host: Ipv4Addr) -> Ipv4Net {
    Ipv4Net::new(host, spec.subnet.v4.prefix_len()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_shim_names_fit_the_kernel() {
        assert_eq!(default_shim_name(MultusKind::Macvlan, "pods"), "mv-pods");
        assert_eq!(default_shim_name(MultusKind::Ipvlan, "pods"), "iv-pods");
        let long = default_shim_name(MultusKind::Macvlan, "a-very-long-network");
        assert_eq!(long, "mv-a-very-long-");
        assert_eq!(long.len(), IFNAME_MAX);
    }
}
