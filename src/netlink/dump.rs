//! Reading the kernel's state: one dump per object type.

use std::net::Ipv6Addr;
use std::time::Duration;

use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkMessage};
use netlink_packet_route::route::{RouteHeader, RouteMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use nix::errno::Errno;

use super::error::NetlinkError;
use super::handle::{DumpFailure, Handle};
use super::parse;
use crate::state::KernelState;

/// Attempts at a consistent dump before giving up. Interruptions come from
/// concurrent changes (a busy node with churning pod veths), overruns from a
/// full receive buffer; both clear up on a re-dump.
const DUMP_ATTEMPTS: u32 = 5;
const RETRY_PAUSE: Duration = Duration::from_millis(20);

impl Handle {
    /// Links, IPv4 addresses and main-table IPv4 routes, as one snapshot:
    /// if any of the three dumps is interrupted, all three are redone, so
    /// names in addresses and routes always match the links.
    pub async fn dump(&self) -> Result<KernelState, NetlinkError> {
        self.retrying(async || self.dump_once().await).await
    }

    /// IPv6 link-local addresses (ifindex, address) that the kernel made
    /// (`IFA_PROTO` kernel_ll, or none on kernels before 5.18): what
    /// `DisableIpv6Auto` removes.
    pub(crate) async fn ipv6_link_locals(&self) -> Result<Vec<(u32, Ipv6Addr)>, NetlinkError> {
        self.retrying(async || {
            let msgs = self
                .dump_objects(ipv6_address_request())
                .await
                .map_err(|f| ("IPv6 addresses", f))?;
            Ok(msgs
                .iter()
                .filter_map(|m| match m {
                    RouteNetlinkMessage::NewAddress(a) => parse::ipv6_link_local(a),
                    _ => None,
                })
                .collect())
        })
        .await
    }

    /// Runs a dump until it is consistent, a bounded number of times.
    async fn retrying<T>(
        &self,
        dump: impl AsyncFn() -> Result<T, (&'static str, DumpFailure)>,
    ) -> Result<T, NetlinkError> {
        let mut attempt = 1;
        loop {
            let (what, failure) = match dump().await {
                Ok(v) => return Ok(v),
                Err(f) => f,
            };
            let retry = match &failure {
                DumpFailure::Interrupted | DumpFailure::Overrun => true,
                DumpFailure::Kernel(e) => e.errno() == Errno::EBUSY,
                DumpFailure::Closed => false,
            };
            if !retry || attempt >= DUMP_ATTEMPTS {
                return Err(match failure {
                    DumpFailure::Interrupted => NetlinkError::DumpInconsistent {
                        what,
                        attempts: attempt,
                    },
                    DumpFailure::Overrun => NetlinkError::Overrun(format!("dumping {what}")),
                    DumpFailure::Kernel(source) => NetlinkError::Dump { what, source },
                    DumpFailure::Closed => {
                        NetlinkError::ConnectionClosed(format!("dumping {what}"))
                    }
                });
            }
            tracing::debug!(what, attempt, ?failure, "re-dumping");
            attempt += 1;
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }

    async fn dump_once(&self) -> Result<KernelState, (&'static str, DumpFailure)> {
        let links: Vec<LinkMessage> = self
            .dump_objects(link_request())
            .await
            .map_err(|f| ("links", f))?
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(l),
                _ => None,
            })
            .collect();
        let addresses = self
            .dump_objects(address_request())
            .await
            .map_err(|f| ("addresses", f))?;
        let routes = self
            .dump_objects(route_request())
            .await
            .map_err(|f| ("routes", f))?;

        let names = parse::link_names(&links);
        let mut state = KernelState {
            links: links
                .iter()
                .filter_map(|l| parse::link(l, &names))
                .collect(),
            addresses: addresses
                .iter()
                .filter_map(|m| match m {
                    RouteNetlinkMessage::NewAddress(a) => parse::address(a, &names),
                    _ => None,
                })
                .collect(),
            routes: routes
                .iter()
                .filter_map(|m| match m {
                    RouteNetlinkMessage::NewRoute(r) => parse::route(r, &names),
                    _ => None,
                })
                .collect(),
        };
        state.links.sort_by_key(|l| l.index);
        Ok(state)
    }
}

fn link_request() -> RouteNetlinkMessage {
    let mut msg = LinkMessage::default();
    // Counters are not state; skipping them keeps a dump of hundreds of
    // links small.
    msg.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    RouteNetlinkMessage::GetLink(msg)
}

fn address_request() -> RouteNetlinkMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet;
    RouteNetlinkMessage::GetAddress(msg)
}

fn ipv6_address_request() -> RouteNetlinkMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet6;
    RouteNetlinkMessage::GetAddress(msg)
}

fn route_request() -> RouteNetlinkMessage {
    let mut msg = RouteMessage::default();
    msg.header.address_family = AddressFamily::Inet;
    msg.header.table = RouteHeader::RT_TABLE_MAIN;
    RouteNetlinkMessage::GetRoute(msg)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::netlink::error::KernelError;

    /// A handle in the test's own namespace: opening an rtnetlink socket
    /// needs no privilege, and `retrying` only runs the closure.
    async fn retry_with(failures: Vec<DumpFailure>) -> (Result<u32, NetlinkError>, u32) {
        let h = Handle::open(None).unwrap();
        let calls = Cell::new(0);
        let failures = std::cell::RefCell::new(failures.into_iter());
        let r = h
            .retrying(async || {
                calls.set(calls.get() + 1);
                match failures.borrow_mut().next() {
                    Some(f) => Err(("links", f)),
                    None => Ok(calls.get()),
                }
            })
            .await;
        (r, calls.get())
    }

    #[tokio::test(flavor = "current_thread")]
    async fn interrupted_and_overrun_dumps_are_redone() {
        let (r, calls) = retry_with(vec![
            DumpFailure::Interrupted,
            DumpFailure::Overrun,
            DumpFailure::Kernel(KernelError::new(-16, None)),
        ])
        .await;
        assert_eq!((r.unwrap(), calls), (4, 4));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn retries_are_bounded() {
        let (r, calls) = retry_with((0..10).map(|_| DumpFailure::Interrupted).collect()).await;
        assert_eq!(calls, DUMP_ATTEMPTS);
        assert!(
            matches!(
                r,
                Err(NetlinkError::DumpInconsistent {
                    what: "links",
                    attempts: DUMP_ATTEMPTS
                })
            ),
            "{r:?}"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_refused_dump_is_not_retried() {
        let (r, calls) = retry_with(vec![DumpFailure::Kernel(KernelError::new(-1, None))]).await;
        assert_eq!(calls, 1);
        let e = r.unwrap_err();
        assert!(
            e.to_string().starts_with("dump of links failed: EPERM"),
            "{e}"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_own_namespace_dumps() {
        let h = Handle::open(None).unwrap();
        let state = h.dump().await.unwrap();
        assert!(state.link("lo").is_some(), "{state:?}");
    }
}
