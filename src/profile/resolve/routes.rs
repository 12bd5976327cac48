//! Routes: the default route via each family's gateway, then the extra
//! routes. A route's link, unless written, is the one whose subnet holds its
//! next hop.
//!
//! IPv6 next hops follow the IPv4 rules (inside a subnet of one of the
//! node's addresses, of the route's own family), with one addition for
//! link-local ones. Routers are often reached at their link-local address
//! (RFC 4861: it is the address a router advertises itself from), but
//! fe80::/10 is on every link, so no subnet tells which link it is on: a
//! link-local next hop is accepted only in `routes` with its `dev`
//! (`{ to = "::/0", via = "fe80::1", dev = "eth1" }`), never as `gateway`,
//! which has no link to name. An IPv6 route's link must have an IPv6
//! address of the profile's: n3xnet turns the kernel's own link-local
//! addresses off, so a link without one has no IPv6 neighbour discovery.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::Resolving;
use crate::desired::DesiredRoute;
use crate::kinds::Network;
use crate::profile::diag::join;
use crate::profile::model::RouteSpec;

impl Resolving<'_> {
    /// The node's routes, in the order they are written (the IPv4 default
    /// route before the IPv6 one).
    pub(super) fn routes(&mut self, cluster_ip: Option<Ipv4Addr>) -> Vec<DesiredRoute> {
        let m = self.merged;
        let mut routes = Vec::new();
        if let Some(gws) = m.gateway {
            let base = m.path("gateway", |o| o.gateway.is_some());
            for gw in gws.iter() {
                let path = gws.path(&base, gw.is_ipv6());
                routes.extend(self.gateway_route(&path, gw, cluster_ip));
            }
        }
        for (path, spec) in &m.routes {
            routes.extend(self.route(path, spec, cluster_ip));
        }
        routes
    }

    fn gateway_route(
        &mut self,
        path: &str,
        gw: IpAddr,
        cluster_ip: Option<Ipv4Addr>,
    ) -> Option<DesiredRoute> {
        let link = if let Some(expected) = next_hop_problem(gw) {
            self.reject(path, Some(gw.to_string()), expected);
            None
        } else if is_link_local(gw) {
            self.reject(
                path,
                Some(gw.to_string()),
                format!("a gateway inside an IPv6 subnet of the node's addresses; a router reached at its link-local address is written as a route with its link, like routes = [{{ to = \"::/0\", via = \"{gw}\", dev = \"eth1\" }}]"),
            );
            None
        } else {
            let link = self.on_link(gw, cluster_ip);
            if link.is_none() {
                self.reject(
                    path,
                    Some(gw.to_string()),
                    "a gateway inside the subnet of one of the node's addresses",
                );
            }
            link
        };
        Some(DesiredRoute {
            destination: default_route(gw),
            gateway: Some(gw),
            link: link?,
            metric: None,
        })
    }

    /// The route written at `path`.
    fn route(
        &mut self,
        path: &str,
        r: &RouteSpec,
        cluster_ip: Option<Ipv4Addr>,
    ) -> Option<DesiredRoute> {
        if r.to.trunc() != r.to {
            self.reject(
                &join(path, "to"),
                Some(r.to.to_string()),
                format!("a network prefix (host bits zero: {})", r.to.trunc()),
            );
        }
        let via_path = join(path, "via");
        if let Some(via) = r.via {
            let problem = if via.is_ipv6() != r.to.addr().is_ipv6() {
                Some(format!(
                    "an {} next hop, as `to` {} is: a route's destination and next hop are of one family",
                    family(r.to.addr()),
                    r.to
                ))
            } else {
                next_hop_problem(via).map(str::to_string)
            };
            if let Some(expected) = problem {
                self.reject(&via_path, Some(via.to_string()), expected);
                return None;
            }
        }
        let dev = match (&r.dev, r.via) {
            (Some(dev), _) if self.links.has(dev) => Some(dev.clone()),
            (Some(dev), _) => {
                self.reject(
                    &join(path, "dev"),
                    Some(format!("{dev:?}")),
                    "one of this node's managed interfaces",
                );
                return None;
            }
            (None, Some(via)) if is_link_local(via) => {
                self.reject(
                    &via_path,
                    Some(via.to_string()),
                    "a link-local next hop only with `dev`: fe80::/10 is on every link, so the route must name its link",
                );
                return None;
            }
            (None, Some(via)) => self.on_link(via, cluster_ip),
            (None, None) => {
                self.reject(path, None, "missing: expected `via` or `dev`");
                return None;
            }
        };
        let Some(dev) = dev else {
            self.reject(
                &via_path,
                r.via.map(|v| v.to_string()),
                "a next hop inside the subnet of one of the node's addresses",
            );
            return None;
        };
        if let Some(via) = r.via.filter(|v| !is_link_local(*v)) {
            if self.on_link(via, cluster_ip).as_deref() != Some(&dev) {
                self.reject(
                    &via_path,
                    Some(via.to_string()),
                    format!("a next hop inside a subnet of {dev}"),
                );
            }
        }
        if r.to.addr().is_ipv6() && !self.has_ipv6(&dev) {
            self.reject(
                &join(path, "dev"),
                Some(format!("{dev:?}")),
                format!("a link with an IPv6 address for an IPv6 route: {dev} has none in ipAddresses, so it has no IPv6 (n3xnet turns the kernel's own link-local addresses off)"),
            );
        }
        Some(DesiredRoute {
            destination: r.to,
            gateway: r.via,
            link: dev,
            metric: r.metric,
        })
    }

    /// The link whose subnet holds `via`: one with a written address, else
    /// (IPv4) the DHCP link.
    fn on_link(&self, via: IpAddr, cluster_ip: Option<Ipv4Addr>) -> Option<String> {
        let written = self
            .addresses
            .iter()
            .find(|(_, a)| a.address.trunc().contains(&via))
            .map(|(_, a)| a.link.clone());
        match via {
            IpAddr::V4(v4) => written.or_else(|| self.dhcp_link_holding(v4, cluster_ip)),
            IpAddr::V6(_) => written,
        }
    }

    /// `link` has an IPv6 address of the profile's.
    fn has_ipv6(&self, link: &str) -> bool {
        self.addresses
            .iter()
            .any(|(_, a)| a.link == link && a.address.addr().is_ipv6())
    }

    /// A DHCP link's subnet is that of the reserved address (/24 unless
    /// written).
    fn dhcp_link_holding(&self, via: Ipv4Addr, cluster_ip: Option<Ipv4Addr>) -> Option<String> {
        let written = self.written(Network::Cluster).v4;
        let link = self.links.list.iter().find(|l| l.dhcp)?;
        let subnet = written
            .map(|n| n.trunc())
            .or_else(|| cluster_ip.and_then(|ip| Ipv4Net::new(ip, 24).ok().map(|n| n.trunc())))?;
        subnet.contains(&via).then(|| link.name.clone())
    }
}

/// The default route of `gw`'s family.
fn default_route(gw: IpAddr) -> IpNet {
    match gw {
        IpAddr::V4(_) => IpNet::V4(Ipv4Net::default()),
        IpAddr::V6(_) => IpNet::V6(Ipv6Net::default()),
    }
}

fn family(a: IpAddr) -> &'static str {
    if a.is_ipv6() {
        "IPv6"
    } else {
        "IPv4"
    }
}

/// An IPv6 link-local address (fe80::/10).
fn is_link_local(a: IpAddr) -> bool {
    matches!(a, IpAddr::V6(v6) if v6.is_unicast_link_local())
}

/// Why `a` can be no next hop, if it cannot: the kernel takes only a
/// unicast neighbour's address.
fn next_hop_problem(a: IpAddr) -> Option<&'static str> {
    let broadcast = matches!(a, IpAddr::V4(v4) if v4.is_broadcast());
    (a.is_unspecified() || a.is_multicast() || a.is_loopback() || broadcast)
        .then_some("a unicast next hop address (not unspecified, loopback, multicast or broadcast)")
}
