//! The node's addresses: written per network in `ipAddresses`, or leased by
//! DHCP on the cluster link; host addresses only, and no two links on
//! overlapping subnets.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::Resolving;
use crate::desired::DesiredAddress;
use crate::kinds::{Mode, Network};
use crate::profile::diag::join;
use crate::profile::model::NetAddrs;

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

    /// The addresses written for `net`, as `ipAddresses.<node>.<net>`.
    pub(super) fn written(&self, net: Network) -> NetAddrs {
        let written = self.profile.ip_addresses.get(self.node());
        written
            .and_then(|w| w.get(&net))
            .copied()
            .unwrap_or_default()
    }

    /// Adds `net`'s addresses on `link`; returns its IPv4 address.
    fn address(&mut self, net: Network, link: Option<&String>) -> Option<Ipv4Addr> {
        let node = self.merged.node;
        let path = join(&join("ipAddresses", node), net.as_str());
        let written = self.written(net);
        let Some(link) = link else {
            if let Some(a) = written.iter().next() {
                self.reject(
                    &path,
                    Some(a.to_string()),
                    format!("no {net} address, since interfaces.{net} is not set"),
                );
            }
            return None;
        };
        let dhcp = self.profile.mode == Mode::Dhcp && net == Network::Cluster;
        let ip = if dhcp {
            self.leased(&path, link, written.v4)
        } else {
            self.address_v4(net, &path, link, written)
        };
        if let Some(a) = written.v6 {
            self.address_v6(&written.path(&path, true), link, a, dhcp);
        }
        ip
    }

    /// Adds the IPv4 address of `written` on `link`; returns its IP.
    fn address_v4(
        &mut self,
        net: Network,
        path: &str,
        link: &str,
        written: NetAddrs,
    ) -> Option<Ipv4Addr> {
        let node = self.merged.node;
        match written.v4 {
            Some(a) => {
                let at = written.path(path, false);
                if let Some(expected) = host_problem(a) {
                    self.reject(&at, Some(a.to_string()), expected);
                }
                let address = DesiredAddress {
                    link: link.to_string(),
                    address: IpNet::V4(a),
                };
                self.addresses.push((at, address));
                Some(a.addr())
            }
            None if net == Network::Cluster => {
                match written.v6 {
                    Some(a) => self.reject(
                        path,
                        Some(format!("only IPv6 {a}")),
                        format!("{node}'s cluster IPv4 address too (IPv6-only nodes are not supported yet)"),
                    ),
                    None => self.reject(
                        path,
                        None,
                        format!("missing: expected {node}'s cluster address"),
                    ),
                }
                None
            }
            None => None,
        }
    }

    /// Adds `net`'s IPv6 address and the link-local address its link
    /// needs.
    ///
    /// The link-local policy: every managed link keeps `addr_gen_mode none`
    /// and `accept_ra 0` (n3x's `LinkLocalAddressing=no`), and a link with
    /// an IPv6 address gets its link-local address (RFC 4291 2.1: every
    /// IPv6 interface has one; neighbour discovery and routers use it) from
    /// the profile, as `fe80::<the address's last 64 bits>/64`, not from the
    /// kernel. So it is owned, planned, verified, repaired and rolled back
    /// like every other address, it does not change when a bond's MAC does,
    /// links without IPv6 stay exactly as before, and nothing turns SLAAC
    /// or router advertisements on. Unique per node on a network, as the
    /// addresses are (checked in validation).
    fn address_v6(&mut self, path: &str, link: &str, a: Ipv6Net, dhcp: bool) {
        let problem = if dhcp {
            Some("no IPv6 address beside DHCP on the cluster link (not supported yet)")
        } else {
            host_problem_v6(a)
        };
        if let Some(expected) = problem {
            self.reject(path, Some(a.to_string()), expected);
            return;
        }
        for address in [IpNet::V6(a), IpNet::V6(link_local(a.addr()))] {
            let link = link.to_string();
            self.addresses
                .push((path.to_string(), DesiredAddress { link, address }));
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
    let link_local = |a: &DesiredAddress| match a.address {
        IpNet::V6(v6) => v6.addr().is_unicast_link_local(),
        IpNet::V4(_) => false,
    };
    // Link-local prefixes are per link: the same one on two links is fine.
    let scoped: Vec<_> = addresses.iter().filter(|(_, a)| !link_local(a)).collect();
    for (i, (pa, a)) in scoped.iter().enumerate() {
        for (pb, b) in &scoped[..i] {
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

/// The link-local address a link with `a` gets: `fe80::` and the last 64
/// bits of `a` (its interface identifier on a /64).
pub(in crate::profile) fn link_local(a: Ipv6Addr) -> Ipv6Net {
    let iid = u128::from(a) & u128::from(u64::MAX);
    let fe80 = u128::from(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0));
    Ipv6Net::new(Ipv6Addr::from(fe80 | iid), 64).unwrap_or_default()
}

/// What an IPv6 address must be to be given to a link statically: a
/// global or unique-local unicast address that is not the subnet-router
/// anycast address (RFC 4291 2.6.1: host bits zero, for prefixes up to
/// /126). Link-local addresses (fe80::/10) are the kernel's, one per link;
/// IPv4-mapped ones are not link addresses.
pub(super) fn host_problem_v6(a: Ipv6Net) -> Option<&'static str> {
    let ip = a.addr();
    if ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() {
        return Some("a unicast IPv6 host address (not ::, ::1 or multicast ff00::/8)");
    }
    if ip.is_unicast_link_local() {
        return Some("a global or unique-local IPv6 address: a link's link-local address (fe80::/10) is derived from it, one per link");
    }
    if ip.to_ipv4_mapped().is_some() {
        return Some("an IPv6 address, not an IPv4-mapped one (::ffff:0:0/96): write the IPv4 address itself");
    }
    if a.prefix_len() <= 126 && ip == a.network() {
        return Some("a host address, not the subnet-router anycast address (host bits zero)");
    }
    if u128::from(ip) & u128::from(u64::MAX) == 0 {
        return Some("an address whose last 64 bits are not all zero: they make the link's link-local address fe80::<last 64 bits>");
    }
    None
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
            address: a.parse().unwrap(),
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
    fn ipv6_host_addresses_only() {
        let v6 = |s: &str| host_problem_v6(s.parse().unwrap());
        assert_eq!(v6("fd00:200::1/64"), None);
        assert_eq!(v6("2001:db8::ffff:ffff:ffff:ffff/64"), None);
        assert_eq!(v6("fd00:200::4/127"), None);
        for bad in [
            "fd00:200::/64",
            "fe80::1/64",
            "ff02::1/64",
            "::/64",
            "::1/128",
            "::ffff:10.0.0.1/120",
        ] {
            assert!(v6(bad).is_some(), "{bad}");
        }
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
