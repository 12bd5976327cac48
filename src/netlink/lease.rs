//! DHCP leases in the kernel, for the daemon's DHCP client: the leased
//! address with its lifetimes (`dynamic` in `ip addr`, so the kernel
//! itself drops it if n3xnetd is gone when the lease runs out), and the
//! default route via the server's router. Both carry n3xnet's protocol,
//! like every object it adds. The on-link subnet route is the kernel's
//! prefix route of the address: it comes and goes with it.

use std::net::Ipv4Addr;

use ipnet::{IpNet, Ipv4Net};
use netlink_packet_core::{NLM_F_CREATE, NLM_F_REPLACE};
use netlink_packet_route::address::CacheInfo;
use netlink_packet_route::route::RouteScope;
use netlink_packet_route::RouteNetlinkMessage;
use nix::errno::Errno;

use super::error::{KernelError, NetlinkError};
use super::handle::Handle;
use super::request::{address_message, route_message};
use crate::state::OWNER_PROTOCOL;

/// A default route of a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseRoute {
    pub ifindex: u32,
    pub gateway: Ipv4Addr,
    pub metric: u32,
}

impl Handle {
    /// Adds the leased address, or refreshes its lifetimes in place when it
    /// is there (`NLM_F_REPLACE`: no delete, so a renewal or a restart is
    /// no flap for anyone watching the address).
    pub async fn set_lease_address(
        &self,
        ifindex: u32,
        address: Ipv4Net,
        lifetime_secs: u32,
    ) -> Result<(), NetlinkError> {
        let mut lifetimes = CacheInfo::default();
        lifetimes.ifa_valid = lifetime_secs;
        lifetimes.ifa_preferred = lifetime_secs;
        let msg = address_message(ifindex, IpNet::V4(address), OWNER_PROTOCOL, Some(lifetimes));
        let what = format!("set DHCP address {address} on ifindex {ifindex}");
        self.one(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_REPLACE,
            what,
            &[],
        )
        .await
    }

    /// Removes the leased address (already gone is fine: the kernel drops
    /// it itself when its valid lifetime ends).
    pub async fn delete_lease_address(
        &self,
        ifindex: u32,
        address: Ipv4Net,
    ) -> Result<(), NetlinkError> {
        let msg = address_message(ifindex, IpNet::V4(address), 0, None);
        let what = format!("delete DHCP address {address} on ifindex {ifindex}");
        self.one(
            RouteNetlinkMessage::DelAddress(msg),
            0,
            what,
            &[Errno::EADDRNOTAVAIL, Errno::ENODEV],
        )
        .await
    }

    /// Adds (or replaces) the lease's default route.
    pub async fn set_lease_route(&self, r: LeaseRoute) -> Result<(), NetlinkError> {
        let msg = lease_route(r, OWNER_PROTOCOL, RouteScope::Universe);
        let what = format!("add DHCP default via {} metric {}", r.gateway, r.metric);
        self.one(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_REPLACE,
            what,
            &[],
        )
        .await
    }

    /// Removes the lease's default route (already gone is fine: it goes
    /// with the address's subnet).
    pub async fn delete_lease_route(&self, r: LeaseRoute) -> Result<(), NetlinkError> {
        let msg = lease_route(r, 0, RouteScope::NoWhere);
        let what = format!("delete DHCP default via {} metric {}", r.gateway, r.metric);
        self.one(
            RouteNetlinkMessage::DelRoute(msg),
            0,
            what,
            &[Errno::ESRCH, Errno::ENODEV],
        )
        .await
    }

    /// One request; errnos in `fine` count as done.
    async fn one(
        &self,
        msg: RouteNetlinkMessage,
        flags: u16,
        what: String,
        fine: &[Errno],
    ) -> Result<(), NetlinkError> {
        let verdicts = self.batch(vec![(msg, flags)], &what).await?;
        match verdicts.into_iter().next() {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) if fine.contains(&e.errno()) => Ok(()),
            Some(Err(e)) if e.errno() == Errno::EPERM => Err(NetlinkError::NoCapNetAdmin),
            Some(Err(source)) => Err(NetlinkError::Op { op: what, source }),
            None => Err(NetlinkError::Op {
                op: what,
                source: KernelError::new(Errno::EIO as i32, Some("no answer".into())),
            }),
        }
    }
}

fn lease_route(
    r: LeaseRoute,
    protocol: u8,
    scope: RouteScope,
) -> netlink_packet_route::route::RouteMessage {
    route_message(
        IpNet::V4(Ipv4Net::default()),
        Some(r.gateway.into()),
        Some(r.ifindex),
        Some(r.metric),
        protocol,
        scope,
    )
}
