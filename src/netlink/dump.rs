//! Reading the kernel's state: one dump per object type.

use std::net::Ipv6Addr;
use std::time::Duration;

use netlink_packet_core::{NetlinkBuffer, NetlinkMessage, NetlinkPayload};
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
    /// Links, IPv4 and IPv6 addresses and main-table routes of both
    /// families, as one snapshot:
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
        let mut msgs = self
            .dump_objects(link_request())
            .await
            .map_err(|f| ("links", f))?;
        msgs.extend(
            self.dump_objects(address_request())
                .await
                .map_err(|f| ("addresses", f))?,
        );
        msgs.extend(
            self.dump_objects(route_request())
                .await
                .map_err(|f| ("routes", f))?,
        );
        Ok(kernel_state(&msgs))
    }
}

/// Our state from the messages of the three dumps: links from `RTM_NEWLINK`,
/// addresses from `RTM_NEWADDR`, routes from `RTM_NEWROUTE`, anything else
/// ignored. Names in addresses and routes resolve against these links only.
pub(super) fn kernel_state(msgs: &[RouteNetlinkMessage]) -> KernelState {
    let links: Vec<&LinkMessage> = msgs
        .iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) => Some(l),
            _ => None,
        })
        .collect();
    let names = parse::link_names(links.iter().copied());
    let mut state = KernelState {
        links: links
            .iter()
            .filter_map(|l| parse::link(l, &names))
            .collect(),
        addresses: msgs
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => parse::address(a, &names),
                _ => None,
            })
            .collect(),
        routes: msgs
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewRoute(r) => parse::route(r, &names),
                _ => None,
            })
            .collect(),
    };
    state.links.sort_by_key(|l| l.index);
    state
}

/// The dump parser on raw bytes, for the fuzzer (`fuzz/fuzz_targets/netlink_dump.rs`)
/// and nothing else: `bytes` is what the kernel's dump replies hold, netlink messages
/// back to back. They are split and decoded as netlink-proto's codec does (a message
/// that does not decode is skipped; a header that does not fit ends the buffer), then
/// go through [`kernel_state`]. Public only because the fuzz crate is another crate;
/// it takes bytes so the rtnetlink types stay inside this module.
#[doc(hidden)]
pub fn state_from_dump_bytes(mut bytes: &[u8]) -> KernelState {
    let mut msgs = Vec::new();
    while let Ok(buffer) = NetlinkBuffer::new_checked(bytes) {
        let (message, rest) = bytes.split_at(buffer.length() as usize);
        if let Ok(NetlinkMessage {
            payload: NetlinkPayload::InnerMessage(m),
            ..
        }) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(message)
        {
            msgs.push(m);
        }
        bytes = rest;
    }
    kernel_state(&msgs)
}

fn link_request() -> RouteNetlinkMessage {
    let mut msg = LinkMessage::default();
    // Counters are not state; skipping them keeps a dump of hundreds of
    // links small.
    msg.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    RouteNetlinkMessage::GetLink(msg)
}

/// Addresses of both families in one dump.
fn address_request() -> RouteNetlinkMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Unspec;
    RouteNetlinkMessage::GetAddress(msg)
}

fn ipv6_address_request() -> RouteNetlinkMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet6;
    RouteNetlinkMessage::GetAddress(msg)
}

/// Routes of both families in one dump. The kernel filters by table only
/// under strict checking, so every table comes and [`parse::route`] keeps
/// the main table's unicast routes; the IPv6 ones include the kernel's own
/// (proto kernel: `fe80::/64` and each address's prefix), which are never
/// n3xnet's (see [`crate::state::OWNER_PROTOCOL`]).
fn route_request() -> RouteNetlinkMessage {
    let mut msg = RouteMessage::default();
    msg.header.address_family = AddressFamily::Unspec;
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

    /// A real kernel's link, IPv4 address and route dumps back to back (the fuzz seed
    /// fuzz/capture-netlink-seeds.py wrote from a scratch namespace).
    const DUMP: &[u8] = include_bytes!("../../fuzz/corpus/netlink_dump/dump-all");

    #[test]
    fn dump_bytes_give_the_state() {
        let state = state_from_dump_bytes(DUMP);
        let names: Vec<&str> = state.links.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["lo", "eth1p", "eth1", "eth2p", "eth2", "mv0"]);
        let addrs: Vec<String> = state
            .addresses
            .iter()
            .map(|a| format!("{} {} {:?}", a.link, a.address, a.valid_lifetime))
            .collect();
        assert_eq!(
            addrs,
            ["eth1 192.168.1.3/24 None", "mv0 10.0.0.2/30 Some(300)"]
        );
        let default = state
            .routes
            .iter()
            .find(|r| r.destination.prefix_len() == 0);
        assert_eq!(default.and_then(|r| r.link.as_deref()), Some("eth1"));
    }

    /// The route dump of both families (the seed's capture asks as
    /// `route_request` does): IPv6 main-table routes read with their
    /// kernel metric, the local table's and multicast ones left out.
    #[test]
    fn route_dump_bytes_give_both_families() {
        let mut bytes = include_bytes!("../../fuzz/corpus/netlink_dump/dump-links").to_vec();
        bytes.extend_from_slice(include_bytes!("../../fuzz/corpus/netlink_dump/dump-routes"));
        let state = state_from_dump_bytes(&bytes);
        let mut v6: Vec<String> = state
            .routes
            .iter()
            .filter(|r| r.destination.addr().is_ipv6() && r.link.as_deref() == Some("eth1"))
            .map(|r| {
                let via = r.gateway.map(|g| format!(" via {g}")).unwrap_or_default();
                let dev = r.link.as_deref().unwrap_or_default();
                format!(
                    "{}{via} dev {dev} {:?} {}",
                    r.destination, r.metric, r.protocol
                )
            })
            .collect();
        v6.sort();
        assert_eq!(
            v6,
            [
                "::/0 via fe80::1 dev eth1 Some(1024) 3",
                "fd00:50::/48 via fd00::1 dev eth1 Some(1024) 3",
                "fd00::/64 dev eth1 Some(256) 2",
                "fe80::/64 dev eth1 Some(256) 2",
            ]
        );
        assert!(state
            .routes
            .iter()
            .any(|r| r.destination.to_string() == "10.9.0.0/16"));
    }

    #[test]
    fn broken_dump_bytes_are_skipped_or_end_the_buffer() {
        assert_eq!(state_from_dump_bytes(&[]), KernelState::default());
        // A message cut short (the last link, mv0): its header claims more than is there.
        let links = include_bytes!("../../fuzz/corpus/netlink_dump/dump-links");
        let cut = state_from_dump_bytes(&links[..links.len() - 1]);
        assert_eq!(cut.links.last().map(|l| l.name.as_str()), Some("eth2"));
        // A message whose body does not decode is skipped, the next one is read.
        let mut bad = vec![
            20, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0,
        ];
        bad.extend_from_slice(DUMP);
        assert_eq!(state_from_dump_bytes(&bad), state_from_dump_bytes(DUMP));
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
