//! Kernel change notifications for the supervisor: rtnetlink multicast of
//! links, and addresses and routes of both families, delivered in bursts.
//!
//! The supervisor never trusts an event's content: it only learns *that*
//! something changed and re-dumps, so a lost or reordered notification can
//! never leave it with a wrong picture. Bursts matter because one
//! `ip link del` produces a link, an address and several route
//! notifications; one re-dump covers them all.

use std::time::Instant;

use futures::StreamExt;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;

use super::error::NetlinkError;
use super::handle::{Handle, Subscription};

/// `RTNLGRP_LINK`, `RTNLGRP_IPV4_IFADDR`, `RTNLGRP_IPV4_ROUTE`,
/// `RTNLGRP_IPV6_IFADDR`, `RTNLGRP_IPV6_ROUTE`: every object
/// [`crate::state::KernelState`] holds (IPv6 addresses also announce the
/// end of duplicate address detection, which is when they become usable).
pub const STATE_GROUPS: [u32; 5] = [1, 5, 7, 9, 11];

/// A subscription to changes of the handle's namespace (see
/// [`Handle::events`]). Dropping it unsubscribes.
pub struct Events {
    sub: Subscription,
    /// The burst being collected. Kept here, not in the `next_burst`
    /// future, so that a `select!` dropping that future mid-burst loses
    /// nothing: the next call carries on.
    pending: Option<Burst>,
}

/// What one burst of notifications touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Burst {
    pub links: u32,
    pub addresses: u32,
    pub routes: u32,
    /// The receive buffer overflowed (`ENOBUFS`): notifications were lost,
    /// only a re-dump tells the truth.
    pub overrun: bool,
    /// When the first notification of the burst was taken from the socket's
    /// queue: the start of the event-to-reaction latency.
    pub at: Instant,
}

impl Burst {
    fn new() -> Self {
        Burst {
            links: 0,
            addresses: 0,
            routes: 0,
            overrun: false,
            at: Instant::now(),
        }
    }

    /// Notifications in the burst (an overrun counts as one).
    pub fn total(&self) -> u32 {
        self.links + self.addresses + self.routes + u32::from(self.overrun)
    }

    fn count(&mut self, msg: &NetlinkMessage<RouteNetlinkMessage>) {
        match &msg.payload {
            NetlinkPayload::Overrun(_) => self.overrun = true,
            NetlinkPayload::InnerMessage(m) => match m {
                RouteNetlinkMessage::NewLink(_) | RouteNetlinkMessage::DelLink(_) => {
                    self.links += 1
                }
                RouteNetlinkMessage::NewAddress(_) | RouteNetlinkMessage::DelAddress(_) => {
                    self.addresses += 1
                }
                RouteNetlinkMessage::NewRoute(_) | RouteNetlinkMessage::DelRoute(_) => {
                    self.routes += 1
                }
                _ => {}
            },
            _ => {}
        }
    }
}

impl Handle {
    /// Subscribes to link, IPv4 address and IPv4 route changes in this
    /// handle's namespace, on a socket of its own (with the same large
    /// receive buffer). Subscribe before the first dump whose result you
    /// act on, so no change between the two is missed.
    pub fn events(&self) -> Result<Events, NetlinkError> {
        Ok(Events {
            sub: self.subscribe(&STATE_GROUPS)?,
            pending: None,
        })
    }
}

impl Events {
    /// Waits for the next change, then collects every notification that is
    /// already there: what the connection task has queued, and, after one
    /// yield to the runtime (which polls the socket), what was still in the
    /// socket. No timer: the burst ends when nothing more is ready. `None`
    /// when the subscription's connection is gone.
    ///
    /// Cancel-safe: a burst interrupted by `select!` is continued by the
    /// next call.
    pub async fn next_burst(&mut self) -> Option<Burst> {
        if self.pending.is_none() {
            let (first, _) = self.sub.messages.next().await?;
            let mut burst = Burst::new();
            burst.count(&first);
            self.pending = Some(burst);
        }
        loop {
            self.drain();
            tokio::task::yield_now().await;
            if self.drain() == 0 {
                break;
            }
        }
        self.pending.take()
    }

    /// Forgets the notifications queued so far: call it right before a dump,
    /// which covers them. Returns how many there were.
    pub fn discard(&mut self) -> u32 {
        let mut n = self.pending.take().map_or(0, |b| b.total());
        while self.sub.messages.try_recv().is_ok() {
            n += 1;
        }
        n
    }

    /// Moves what is queued into the pending burst; returns how many.
    fn drain(&mut self) -> u32 {
        let burst = self.pending.get_or_insert_with(Burst::new);
        let mut n = 0;
        while let Ok((msg, _)) = self.sub.messages.try_recv() {
            burst.count(&msg);
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use netlink_packet_core::NetlinkHeader;
    use netlink_packet_route::address::AddressMessage;
    use netlink_packet_route::link::LinkMessage;
    use netlink_packet_route::route::RouteMessage;

    use super::*;

    #[test]
    fn bursts_count_each_object_type_and_overruns() {
        let mut b = Burst::new();
        for m in [
            RouteNetlinkMessage::NewLink(LinkMessage::default()),
            RouteNetlinkMessage::DelLink(LinkMessage::default()),
            RouteNetlinkMessage::DelAddress(AddressMessage::default()),
            RouteNetlinkMessage::DelRoute(RouteMessage::default()),
            RouteNetlinkMessage::NewRoute(RouteMessage::default()),
        ] {
            b.count(&NetlinkMessage::from(m));
        }
        assert_eq!(
            (b.links, b.addresses, b.routes, b.overrun),
            (2, 1, 2, false)
        );
        b.count(&NetlinkMessage::new(
            NetlinkHeader::default(),
            NetlinkPayload::Overrun(Vec::new()),
        ));
        assert!(b.overrun);
        assert_eq!(b.total(), 6);
    }
}
