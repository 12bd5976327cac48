//! Routes: the default route via the gateway, then the extra routes. A
//! route's link, unless written, is the one whose subnet holds its next hop.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::Ipv4Net;

use super::Resolving;
use crate::desired::DesiredRoute;
use crate::kinds::Network;
use crate::profile::diag::join;
use crate::profile::model::RouteSpec;

impl Resolving<'_> {
    /// The node's routes, in the order they are written.
    pub(super) fn routes(&mut self, cluster_ip: Option<Ipv4Addr>) -> Vec<DesiredRoute> {
        let m = self.merged;
        let mut routes: Vec<DesiredRoute> = m
            .gateway
            .and_then(|gw| self.gateway_route(gw, cluster_ip))
            .into_iter()
            .collect();
        for (path, spec) in &m.routes {
            routes.extend(self.route(path, spec, cluster_ip));
        }
        routes
    }

    fn gateway_route(
        &mut self,
        gw: Ipv4Addr,
        cluster_ip: Option<Ipv4Addr>,
    ) -> Option<DesiredRoute> {
        let Some(link) = self.on_link(gw, cluster_ip) else {
            self.reject(
                &self.merged.path("gateway", |o| o.gateway.is_some()),
                Some(gw.to_string()),
                "a gateway inside the subnet of one of the node's addresses",
            );
            return None;
        };
        Some(DesiredRoute {
            destination: Ipv4Net::default(),
            gateway: Some(gw),
            link,
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
            (None, Some(via)) => self.on_link(via, cluster_ip),
            (None, None) => {
                self.reject(path, None, "missing: expected `via` or `dev`");
                return None;
            }
        };
        let Some(dev) = dev else {
            self.reject(
                &join(path, "via"),
                r.via.map(|v| v.to_string()),
                "a next hop inside the subnet of one of the node's addresses",
            );
            return None;
        };
        if let Some(via) = r.via {
            if self.on_link(via, cluster_ip).as_deref() != Some(&dev) {
                self.reject(
                    &join(path, "via"),
                    Some(via.to_string()),
                    format!("a next hop inside a subnet of {dev}"),
                );
            }
        }
        Some(DesiredRoute {
            destination: r.to,
            gateway: r.via,
            link: dev,
            metric: r.metric,
        })
    }

    /// The link whose subnet holds `via`: one with a written address, else
    /// the DHCP link.
    fn on_link(&self, via: Ipv4Addr, cluster_ip: Option<Ipv4Addr>) -> Option<String> {
        self.addresses
            .iter()
            .find(|(_, a)| a.address.trunc().contains(&IpAddr::V4(via)))
            .map(|(_, a)| a.link.clone())
            .or_else(|| self.dhcp_link_holding(via, cluster_ip))
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
