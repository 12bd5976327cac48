//! The node's addresses: written per network in `ipAddresses`, or leased by
//! DHCP on the cluster link; host addresses only, and no two links on
//! overlapping subnets.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::Resolving;
use crate::desired::DesiredAddress;
use crate::kinds::{Mode, Network};
use crate::profile::diag::join;

impl Resolving<'_> {
    /// Adds the address of each network on its link; returns the cluster IP
    /// (the reserved one in DHCP mode).
    pub(super) fn addresses(&mut self, net_links: &BTreeMap<Network, String>) -> Option<Ipv4Addr> {
        let mut cluster_ip = None;
        for net in Network::ALL {
            let ip = self.address(net, net_links.get(&net));
            if net == Network::Cluster {
                cluster_ip = ip;
            }
        }
        if self.profile.mode == Mode::Dhcp && !self.merged.vlan_ids.is_empty() {
            self.reject(
                "mode",
                Some("\"dhcp\"".into()),
                "\"static\" when VLANs are used (DHCP on VLAN interfaces is not supported yet)",
            );
        }
        cluster_ip
    }

    /// The address written for `net`, as `ipAddresses.<node>.<net>`.
    pub(super) fn written(&self, net: Network) -> Option<Ipv4Net> {
        let written = self.profile.ip_addresses.get(self.node())?;
        written.get(&net).copied()
    }

    /// Adds `net`'s address on `link`; returns its IP.
    fn address(&mut self, net: Network, link: Option<&String>) -> Option<Ipv4Addr> {
        let node = self.merged.node;
        let path = join(&join("ipAddresses", node), net.as_str());
        let addr = self.written(net);
        let Some(link) = link else {
            if addr.is_some() {
                self.reject(
                    &path,
                    addr.map(|a| a.to_string()),
                    format!("no {net} address, since interfaces.{net} is not set"),
                );
            }
            return None;
        };
        if self.profile.mode == Mode::Dhcp && net == Network::Cluster {
            return self.leased(&path, link, addr);
        }
        match addr {
            Some(a) => {
                if let Some(expected) = host_problem(a) {
                    self.reject(&path, Some(a.to_string()), expected);
                }
                let address = DesiredAddress {
                    link: link.clone(),
                    address: a,
                };
                self.addresses.push((path, address));
                Some(a.addr())
            }
            None if net == Network::Cluster => {
                self.reject(
                    &path,
                    None,
                    format!("missing: expected {node}'s cluster address"),
                );
                None
            }
            None => None,
        }
    }

    /// DHCP on the cluster link; the IP is the node's reservation, else the
    /// written address.
    fn leased(&mut self, path: &str, link: &str, addr: Option<Ipv4Net>) -> Option<Ipv4Addr> {
        let node = self.merged.node;
        let reserved = self.profile.reservations.get(node).map(|r| r.ip);
        let ip = reserved.or(addr.map(|a| a.addr()));
        if ip.is_none() {
            self.reject(path, None, format!("missing: expected {node}'s reserved cluster IP (ipAddresses.{node}.cluster or reservations.{node}.ip)"));
        }
        if let Some(l) = self.links.get_mut(link) {
            l.dhcp = true;
        }
        ip
    }

    /// Two links of one node may not carry overlapping subnets (the kernel
    /// would pick one route for both); the same address twice is a
    /// copy-paste error.
    pub(super) fn check_overlaps(&mut self) {
        for (path, found, expected) in overlaps(&self.addresses) {
            self.reject(&path, Some(found), expected);
        }
    }
}

/// Each address overlapping an earlier one: its path, the address, and what
/// was expected instead.
fn overlaps(addresses: &[(String, DesiredAddress)]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (i, (pa, a)) in addresses.iter().enumerate() {
        for (pb, b) in &addresses[..i] {
            if a.link == b.link && a.address != b.address {
                continue;
            }
            let (na, nb) = (a.address.trunc(), b.address.trunc());
            if na.contains(&nb.network()) || nb.contains(&na.network()) {
                out.push((
                    pa.clone(),
                    a.address.to_string(),
                    format!(
                        "a subnet not overlapping {} on {} ({pb})",
                        b.address, b.link
                    ),
                ));
            }
        }
    }
    out
}

/// Host bits must not be all zeros or all ones (for prefixes up to /30).
pub(super) fn host_problem(a: Ipv4Net) -> Option<&'static str> {
    let ip = a.addr();
    if ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() || ip.is_broadcast() {
        return Some("a unicast host address");
    }
    if a.prefix_len() <= 30 && (ip == a.network() || ip == a.broadcast()) {
        return Some("a host address, not the subnet's network or broadcast address");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    fn on(link: &str, a: &str) -> (String, DesiredAddress) {
        let address = DesiredAddress {
            link: link.into(),
            address: net(a),
        };
        (format!("{link}.{a}"), address)
    }

    #[test]
    fn host_addresses_only() {
        assert_eq!(host_problem(net("192.168.1.2/24")), None);
        assert!(host_problem(net("192.168.1.0/24")).is_some());
        assert!(host_problem(net("192.168.1.255/24")).is_some());
        assert_eq!(host_problem(net("192.168.1.0/31")), None);
        assert!(host_problem(net("127.0.0.1/8")).is_some());
        assert!(host_problem(net("224.0.0.1/24")).is_some());
    }

    #[test]
    fn overlapping_subnets_on_two_links() {
        let found = overlaps(&[on("eth1", "10.0.0.1/24"), on("eth2", "10.0.0.2/16")]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "eth2.10.0.0.2/16");
        assert!(found[0].2.contains("10.0.0.1/24 on eth1"), "{found:?}");
    }

    #[test]
    fn one_link_may_hold_two_addresses_but_not_one_twice() {
        let two = [on("eth1", "10.0.0.1/24"), on("eth1", "10.0.0.2/24")];
        assert!(overlaps(&two).is_empty());
        let twice = [on("eth1", "10.0.0.1/24"), on("eth1", "10.0.0.1/24")];
        assert_eq!(overlaps(&twice).len(), 1);
        let apart = [on("eth1", "10.0.0.1/24"), on("eth2", "10.0.1.1/24")];
        assert!(overlaps(&apart).is_empty());
    }
}
