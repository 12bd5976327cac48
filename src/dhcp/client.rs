//! The DHCPv4 client state machine (RFC 2131 4.4), without sockets or
//! clocks: it is fed the time, the replies and timer expiries, and answers
//! with [`Action`]s for the driver to carry out (send, install or remove
//! the lease, save or forget it). Tests drive it with a fake clock.
//!
//! ```text
//!  start ──► SELECTING ──offer──► REQUESTING ──ack──► PROBING ──1 s──► BOUND ──T1──► RENEWING ──T2──► REBINDING
//!   (known      ▲  ▲  ▲               │ nak/no answer     │ ARP conflict:   ▲              │ ack            │ ack
//!    lease:     │  │  └───────────────┘                   │ DECLINE, 10 s   └──────────────┴────────────────┘
//!    RENEWING)  │  └──────────────────────────────────────┘
//!               └────────────── nak or expiry: address removed ◄─────────────────────────────────────────┘
//! ```
//!
//! PROBING is the RFC 2131 4.4.1 check that nobody holds the address: the
//! driver sends ARP probes for it ([`Action::Probe`]) and reports a
//! conflict with [`Client::on_conflict`].

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::mac::MacAddr;

use super::packet::{Dropped, Identity, Offer, Outgoing, Reply, ReplyKind, Request};

/// Milliseconds on the driver's monotonic clock (may be negative for a
/// lease granted before the process started).
pub type Millis = i64;

const SECOND: Millis = 1000;
/// RFC 2131 4.1: the first retransmission after 4 s, doubling up to 64 s,
/// each randomized by ±1 s.
const FIRST_RETRY: Millis = 4 * SECOND;
const MAX_RETRY: Millis = 64 * SECOND;
const JITTER: Millis = SECOND;
/// RFC 2131 4.4.5: RENEWING/REBINDING retransmit at half the time left,
/// but not more often than every 60 s.
const MIN_EXTEND_RETRY: Millis = 60 * SECOND;
/// REQUESTs sent for one offer before starting over with a DISCOVER.
const MAX_SELECT_REQUESTS: u32 = 4;
/// How long an acknowledged address is probed with ARP before it is used.
const PROBE_WAIT: Millis = SECOND;
/// RFC 2131 3.1 (5): after a DECLINE, wait at least 10 s before starting
/// over.
const DECLINE_WAIT: Millis = 10 * SECOND;

/// A bound lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// The leased address with the server's subnet mask.
    pub address: Ipv4Net,
    /// The server's identifier (option 54).
    pub server: Ipv4Addr,
    /// The hardware address the server's ACK came from: where unicast
    /// renewals go (the server, or the relay in front of it).
    pub server_mac: MacAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router: Option<Ipv4Addr>,
    /// `u32::MAX` is infinite.
    pub lease_secs: u32,
    pub t1_secs: u32,
    pub t2_secs: u32,
    /// When the ACK arrived, on the clock of whoever holds the value (see
    /// [`super::store`] for the file's clock).
    pub acquired: Millis,
}

impl Lease {
    fn new(now: Millis, offer: &Offer, server: Ipv4Addr, server_mac: [u8; 6]) -> Lease {
        let lease = offer.lease_secs;
        let default_t1 = if lease == u32::MAX {
            u32::MAX
        } else {
            lease / 2
        };
        let default_t2 = if lease == u32::MAX {
            u32::MAX
        } else {
            (u64::from(lease) * 7 / 8) as u32
        };
        // The server's T1/T2 only when they are in order (T1 < T2 <= lease).
        let (t1, t2) = match (offer.t1_secs, offer.t2_secs) {
            (Some(t1), Some(t2)) if t1 < t2 && t2 <= lease => (t1, t2),
            (Some(t1), None) if t1 < default_t2 => (t1, default_t2),
            (None, Some(t2)) if default_t1 < t2 && t2 <= lease => (default_t1, t2),
            _ => (default_t1, default_t2),
        };
        Lease {
            address: offer.address,
            server,
            server_mac: MacAddr(server_mac),
            router: offer.router,
            lease_secs: lease,
            t1_secs: t1,
            t2_secs: t2,
            acquired: now,
        }
    }

    fn at(&self, secs: u32) -> Millis {
        if secs == u32::MAX {
            Millis::MAX
        } else {
            self.acquired.saturating_add(Millis::from(secs) * SECOND)
        }
    }

    pub fn renew_at(&self) -> Millis {
        self.at(self.t1_secs)
    }

    pub fn rebind_at(&self) -> Millis {
        self.at(self.t2_secs)
    }

    pub fn expires_at(&self) -> Millis {
        self.at(self.lease_secs)
    }

    /// Whole seconds left at `now`, for the kernel's address lifetimes
    /// (`u32::MAX`: forever).
    pub fn remaining_secs(&self, now: Millis) -> u32 {
        if self.lease_secs == u32::MAX {
            return u32::MAX;
        }
        let left = (self.expires_at() - now).max(0) / SECOND;
        u32::try_from(left).unwrap_or(u32::MAX - 1)
    }
}

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    Broadcast,
    /// RENEWING: to the server that granted the lease.
    Unicast {
        ip: Ipv4Addr,
        mac: [u8; 6],
    },
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Send {
        message: Outgoing,
        to: Destination,
    },
    /// Add the lease's address (or refresh its lifetimes) and its routes.
    Install(Lease),
    /// Remove the lease's address and routes.
    Remove(Lease),
    /// Keep the lease on disk, for a restart.
    Save(Lease),
    /// Delete the saved lease.
    Forget,
    /// Check with ARP that nobody on the link holds this address (until
    /// the client leaves the probing state).
    Probe(Ipv4Addr),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Selecting {
        xid: u32,
        began: Millis,
        sent: u32,
        next: Millis,
    },
    Requesting {
        xid: u32,
        began: Millis,
        sent: u32,
        next: Millis,
        server: Ipv4Addr,
        server_mac: [u8; 6],
        offer: Offer,
    },
    /// The ACK is in; ARP says whether the address is free.
    Probing {
        until: Millis,
        server: Ipv4Addr,
        server_mac: [u8; 6],
        ack: Offer,
    },
    Bound,
    Renewing {
        xid: u32,
        began: Millis,
        next: Millis,
    },
    Rebinding {
        xid: u32,
        began: Millis,
        next: Millis,
    },
}

/// One link's DHCP client.
#[derive(Debug, Clone)]
pub struct Client {
    id: Identity,
    phase: Phase,
    /// Installed in the kernel whenever it is `Some`.
    lease: Option<Lease>,
    rng: Rng,
    /// The last loss of a lease (expiry, NAK), until the next bind.
    event: Option<String>,
    dropped: BTreeMap<Dropped, u64>,
}

impl Client {
    /// Starts the client. A `known` lease still valid at `now` (from
    /// before a restart) is installed again as it is (a no-op for the
    /// kernel when the address is still there: no flap) and confirmed with
    /// the server at once by a renewal; otherwise the client discovers.
    pub fn start(
        id: Identity,
        seed: u64,
        now: Millis,
        known: Option<Lease>,
    ) -> (Client, Vec<Action>) {
        let mut c = Client {
            id,
            phase: Phase::Bound,
            lease: None,
            rng: Rng::new(seed),
            event: None,
            dropped: BTreeMap::new(),
        };
        let actions = match known.filter(|l| l.expires_at() > now) {
            Some(lease) => {
                c.lease = Some(lease.clone());
                let mut a = vec![Action::Install(lease)];
                a.extend(c.renew(now));
                a
            }
            None => c.discover(now),
        };
        (c, actions)
    }

    /// The state's RFC name.
    pub fn state(&self) -> &'static str {
        match self.phase {
            Phase::Selecting { .. } => "selecting",
            Phase::Requesting { .. } => "requesting",
            Phase::Probing { .. } => "probing",
            Phase::Bound => "bound",
            Phase::Renewing { .. } => "renewing",
            Phase::Rebinding { .. } => "rebinding",
        }
    }

    /// The lease in the kernel, if any.
    pub fn lease(&self) -> Option<&Lease> {
        self.lease.as_ref()
    }

    /// Why the last lease was lost, until a new one is bound.
    pub fn event(&self) -> Option<&str> {
        self.event.as_deref()
    }

    /// Packets dropped so far, by reason.
    pub fn dropped(&self) -> &BTreeMap<Dropped, u64> {
        &self.dropped
    }

    /// When [`Client::on_timer`] must run next.
    pub fn deadline(&self) -> Millis {
        let lease = self.lease.as_ref();
        let at = |f: fn(&Lease) -> Millis| lease.map_or(Millis::MAX, f);
        match &self.phase {
            Phase::Selecting { next, .. } | Phase::Requesting { next, .. } => *next,
            Phase::Probing { until, .. } => *until,
            Phase::Bound => at(Lease::renew_at),
            Phase::Renewing { next, .. } => (*next).min(at(Lease::rebind_at)),
            Phase::Rebinding { next, .. } => (*next).min(at(Lease::expires_at)),
        }
    }

    /// A packet that never reached the state machine (see [`super::frame`]
    /// and [`super::packet::parse`]).
    pub fn count_dropped(&mut self, why: Dropped) {
        *self.dropped.entry(why).or_default() += 1;
    }

    /// The time has come (or passed) for the deadline.
    pub fn on_timer(&mut self, now: Millis) -> Vec<Action> {
        if let Some(lease) = &self.lease {
            if now >= lease.expires_at() {
                return self.lose(now, "expired");
            }
        }
        let lease = self.lease.clone();
        match (&mut self.phase, lease) {
            (
                Phase::Selecting {
                    xid,
                    began,
                    sent,
                    next,
                },
                _,
            ) if now >= *next => {
                *next = now + retry(&mut self.rng, *sent);
                *sent += 1;
                let (xid, began) = (*xid, *began);
                vec![self.broadcast(Request::Discover, xid, began, now, None, None)]
            }
            (
                Phase::Requesting {
                    xid,
                    began,
                    sent,
                    next,
                    server,
                    offer,
                    ..
                },
                _,
            ) if now >= *next => {
                if *sent >= MAX_SELECT_REQUESTS {
                    return self.discover(now);
                }
                *next = now + retry(&mut self.rng, *sent);
                *sent += 1;
                let (xid, began, server, ip) = (*xid, *began, *server, offer.address.addr());
                vec![self.broadcast(Request::Select, xid, began, now, Some(ip), Some(server))]
            }
            (
                Phase::Probing {
                    until,
                    server,
                    server_mac,
                    ack,
                },
                _,
            ) if now >= *until => {
                let (server, server_mac, ack) = (*server, *server_mac, ack.clone());
                self.bind(now, &ack, server, server_mac)
            }
            (Phase::Bound | Phase::Renewing { .. }, Some(l)) if now >= l.rebind_at() => {
                self.rebind(now, &l)
            }
            (Phase::Bound, Some(l)) if now >= l.renew_at() => self.renew(now),
            (Phase::Renewing { xid, began, next }, Some(l)) if now >= *next => {
                *next = now + extend_retry(now, l.rebind_at());
                let (xid, began) = (*xid, *began);
                vec![self.unicast(xid, began, now, &l)]
            }
            (Phase::Rebinding { xid, began, next }, Some(l)) if now >= *next => {
                *next = now + extend_retry(now, l.expires_at());
                let (xid, began) = (*xid, *began);
                vec![self.extend_broadcast(xid, began, now, &l)]
            }
            _ => Vec::new(),
        }
    }

    /// The link's carrier came back: the cable may now lead to another
    /// network, or to a server that was out of reach. A bound client
    /// confirms its lease with a renewal now (a NAK ends it); one that is
    /// renewing or rebinding asks again now; one still looking for a lease
    /// discovers now instead of at the end of a backoff of up to 64 s.
    pub fn on_link_up(&mut self, now: Millis) -> Vec<Action> {
        match &mut self.phase {
            Phase::Bound => self.renew(now),
            Phase::Renewing { next, .. } | Phase::Rebinding { next, .. } => {
                *next = now;
                self.on_timer(now)
            }
            Phase::Selecting { .. } => self.discover(now),
            Phase::Requesting { .. } | Phase::Probing { .. } => Vec::new(),
        }
    }

    /// ARP says `holder` has the address being probed: decline it and
    /// start over after [`DECLINE_WAIT`]. Ignored in any other state.
    pub fn on_conflict(&mut self, now: Millis, holder: MacAddr) -> Vec<Action> {
        let Phase::Probing { server, ack, .. } = &self.phase else {
            return Vec::new();
        };
        let (server, ip) = (*server, ack.address.addr());
        self.event = Some(format!(
            "declined {ip} offered by {server}: in use by {holder}"
        ));
        self.phase = Phase::Selecting {
            xid: self.rng.next_u32(),
            began: now,
            sent: 0,
            next: now + DECLINE_WAIT,
        };
        vec![Action::Send {
            message: Outgoing {
                request: Request::Decline,
                xid: self.rng.next_u32(),
                secs: 0,
                ciaddr: None,
                requested: Some(ip),
                server: Some(server),
            },
            to: Destination::Broadcast,
        }]
    }

    /// A vetted reply, received from hardware address `from`.
    pub fn on_reply(&mut self, now: Millis, reply: &Reply, from: [u8; 6]) -> Vec<Action> {
        match self.judge(now, reply, from) {
            Ok(actions) => actions,
            Err(why) => {
                self.count_dropped(why);
                Vec::new()
            }
        }
    }

    fn judge(&mut self, now: Millis, reply: &Reply, from: [u8; 6]) -> Result<Vec<Action>, Dropped> {
        if reply.chaddr != self.id.mac {
            return Err(Dropped::WrongChaddr);
        }
        let xid = match &self.phase {
            Phase::Bound | Phase::Probing { .. } => return Err(Dropped::Unexpected),
            Phase::Selecting { xid, .. }
            | Phase::Requesting { xid, .. }
            | Phase::Renewing { xid, .. }
            | Phase::Rebinding { xid, .. } => *xid,
        };
        if reply.xid != xid {
            return Err(Dropped::WrongXid);
        }
        let ours = |ack: &Offer, lease: &Option<Lease>| {
            lease
                .as_ref()
                .is_some_and(|l| l.address.addr() == ack.address.addr())
        };
        match (&self.phase, &reply.kind) {
            (Phase::Selecting { xid, began, .. }, ReplyKind::Offer(offer)) => {
                let (xid, began) = (*xid, *began);
                self.phase = Phase::Requesting {
                    xid,
                    began,
                    sent: 1,
                    next: now + retry(&mut self.rng, 0),
                    server: reply.server,
                    server_mac: from,
                    offer: offer.clone(),
                };
                let ip = offer.address.addr();
                Ok(vec![self.broadcast(
                    Request::Select,
                    xid,
                    began,
                    now,
                    Some(ip),
                    Some(reply.server),
                )])
            }
            (Phase::Requesting { server, .. }, ReplyKind::Ack(ack)) if *server == reply.server => {
                let ip = ack.address.addr();
                self.phase = Phase::Probing {
                    until: now + PROBE_WAIT,
                    server: reply.server,
                    server_mac: from,
                    ack: ack.clone(),
                };
                Ok(vec![Action::Probe(ip)])
            }
            (Phase::Requesting { server, .. }, ReplyKind::Nak) if *server == reply.server => {
                Ok(self.discover(now))
            }
            // Renewal is unicast to the lease's server: only it answers.
            (Phase::Renewing { .. }, ReplyKind::Ack(ack))
                if ours(ack, &self.lease)
                    && self
                        .lease
                        .as_ref()
                        .is_some_and(|l| l.server == reply.server) =>
            {
                Ok(self.bind(now, ack, reply.server, from))
            }
            // Rebinding asks every server; any may extend our address, but
            // one offering another address is not taken (no flap).
            (Phase::Rebinding { .. }, ReplyKind::Ack(ack)) if ours(ack, &self.lease) => {
                Ok(self.bind(now, ack, reply.server, from))
            }
            // Only the lease's own server may take it back. RFC 2131 lets
            // any server's NAK end a rebinding, but then a second server
            // that does not know the reservation (dnsmasq NAKs an address
            // outside its range) would flap a node whose server is merely
            // down: the lease is kept until it expires instead.
            (Phase::Renewing { .. } | Phase::Rebinding { .. }, ReplyKind::Nak)
                if self
                    .lease
                    .as_ref()
                    .is_some_and(|l| l.server == reply.server) =>
            {
                Ok(self.lose(now, &format!("refused by {} (NAK)", reply.server)))
            }
            _ => Err(Dropped::Unexpected),
        }
    }

    fn bind(&mut self, now: Millis, ack: &Offer, server: Ipv4Addr, from: [u8; 6]) -> Vec<Action> {
        let lease = Lease::new(now, ack, server, from);
        let mut actions = Vec::new();
        // The same address with another mask is another kernel address.
        if let Some(old) = self.lease.take().filter(|o| o.address != lease.address) {
            actions.push(Action::Remove(old));
        }
        actions.push(Action::Install(lease.clone()));
        actions.push(Action::Save(lease.clone()));
        self.lease = Some(lease);
        self.phase = Phase::Bound;
        self.event = None;
        actions
    }

    /// The lease is gone (`why`): remove it, say so, start over.
    fn lose(&mut self, now: Millis, why: &str) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Some(old) = self.lease.take() {
            self.event = Some(format!(
                "lease {} from {} {why}; address removed",
                old.address, old.server
            ));
            actions.push(Action::Remove(old));
            actions.push(Action::Forget);
        }
        actions.extend(self.discover(now));
        actions
    }

    fn discover(&mut self, now: Millis) -> Vec<Action> {
        let xid = self.rng.next_u32();
        self.phase = Phase::Selecting {
            xid,
            began: now,
            sent: 1,
            next: now + retry(&mut self.rng, 0),
        };
        vec![self.broadcast(Request::Discover, xid, now, now, None, None)]
    }

    fn renew(&mut self, now: Millis) -> Vec<Action> {
        let Some(lease) = self.lease.clone() else {
            return self.discover(now);
        };
        let xid = self.rng.next_u32();
        self.phase = Phase::Renewing {
            xid,
            began: now,
            next: now + extend_retry(now, lease.rebind_at()),
        };
        vec![self.unicast(xid, now, now, &lease)]
    }

    fn rebind(&mut self, now: Millis, lease: &Lease) -> Vec<Action> {
        let xid = self.rng.next_u32();
        self.phase = Phase::Rebinding {
            xid,
            began: now,
            next: now + extend_retry(now, lease.expires_at()),
        };
        vec![self.extend_broadcast(xid, now, now, lease)]
    }

    fn broadcast(
        &self,
        request: Request,
        xid: u32,
        began: Millis,
        now: Millis,
        requested: Option<Ipv4Addr>,
        server: Option<Ipv4Addr>,
    ) -> Action {
        Action::Send {
            message: Outgoing {
                request,
                xid,
                secs: secs(began, now),
                ciaddr: None,
                requested,
                server,
            },
            to: Destination::Broadcast,
        }
    }

    fn extend(xid: u32, began: Millis, now: Millis, lease: &Lease) -> Outgoing {
        Outgoing {
            request: Request::Extend,
            xid,
            secs: secs(began, now),
            ciaddr: Some(lease.address.addr()),
            requested: None,
            server: None,
        }
    }

    fn unicast(&self, xid: u32, began: Millis, now: Millis, lease: &Lease) -> Action {
        Action::Send {
            message: Self::extend(xid, began, now, lease),
            to: Destination::Unicast {
                ip: lease.server,
                mac: lease.server_mac.0,
            },
        }
    }

    fn extend_broadcast(&self, xid: u32, began: Millis, now: Millis, lease: &Lease) -> Action {
        Action::Send {
            message: Self::extend(xid, began, now, lease),
            to: Destination::Broadcast,
        }
    }
}

fn secs(began: Millis, now: Millis) -> u16 {
    u16::try_from((now - began).max(0) / SECOND).unwrap_or(u16::MAX)
}

/// The wait before retransmission number `sent` (0 = after the first send).
fn retry(rng: &mut Rng, sent: u32) -> Millis {
    let base = (FIRST_RETRY << sent.min(4)).min(MAX_RETRY);
    let jitter = Millis::from(rng.next_u32() % (2 * JITTER as u32 + 1)) - JITTER;
    base + jitter
}

/// RENEWING/REBINDING: half the time left until `until`, at least 60 s
/// (the deadline caps it at `until` itself).
fn extend_retry(now: Millis, until: Millis) -> Millis {
    (until.saturating_sub(now) / 2).max(MIN_EXTEND_RETRY)
}

/// xorshift64*: transaction ids and jitter need to differ between clients
/// and restarts, not to be secret (a server sees them in clear).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp::packet::tests::{identity, MAC, SERVER};

    const SERVER_MAC: [u8; 6] = [0x52, 0x54, 0, 1, 1, 0];
    const IP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 3);

    fn offer(ip: Ipv4Addr) -> Offer {
        Offer {
            address: Ipv4Net::new(ip, 24).unwrap(),
            router: None,
            lease_secs: 120,
            t1_secs: Some(5),
            t2_secs: Some(8),
        }
    }

    fn reply(c: &Client, kind: ReplyKind) -> Reply {
        Reply {
            xid: xid(c),
            chaddr: MAC,
            server: SERVER,
            kind,
        }
    }

    fn xid(c: &Client) -> u32 {
        match &c.phase {
            Phase::Selecting { xid, .. }
            | Phase::Requesting { xid, .. }
            | Phase::Renewing { xid, .. }
            | Phase::Rebinding { xid, .. } => *xid,
            Phase::Bound | Phase::Probing { .. } => 0,
        }
    }

    fn sent(actions: &[Action]) -> Vec<(Request, Destination)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Send { message, to } => Some((message.request, *to)),
                _ => None,
            })
            .collect()
    }

    /// A client bound to 192.168.1.3 at t = 0 (T1 5 s, T2 8 s, 120 s).
    fn bound() -> Client {
        let (mut c, a) = Client::start(identity(), 42, 0, None);
        assert_eq!(sent(&a), [(Request::Discover, Destination::Broadcast)]);
        let a = c.on_reply(0, &reply(&c, ReplyKind::Offer(offer(IP))), SERVER_MAC);
        assert_eq!(c.state(), "requesting");
        match &a[..] {
            [Action::Send { message, to }] => {
                assert_eq!(message.request, Request::Select);
                assert_eq!(message.requested, Some(IP));
                assert_eq!(message.server, Some(SERVER));
                assert_eq!(*to, Destination::Broadcast);
            }
            other => panic!("{other:?}"),
        }
        let a = c.on_reply(0, &reply(&c, ReplyKind::Ack(offer(IP))), SERVER_MAC);
        assert_eq!(a, [Action::Probe(IP)]);
        assert_eq!(c.state(), "probing");
        assert!(c.lease().is_none());
        assert_eq!(c.deadline(), PROBE_WAIT);
        let a = c.on_timer(PROBE_WAIT);
        assert_eq!(c.state(), "bound");
        let lease = c.lease().unwrap().clone();
        assert_eq!(a, [Action::Install(lease.clone()), Action::Save(lease)]);
        c
    }

    /// [`bound`]'s times are from the end of the probe.
    const T0: Millis = PROBE_WAIT;

    #[test]
    fn discover_offer_request_ack_binds_with_the_servers_times() {
        let c = bound();
        let l = c.lease().unwrap();
        assert_eq!((l.t1_secs, l.t2_secs, l.lease_secs), (5, 8, 120));
        assert_eq!(l.server_mac.0, SERVER_MAC);
        assert_eq!(c.deadline(), T0 + 5000);
    }

    #[test]
    fn retransmits_back_off_4_8_16_32_64_s_with_jitter() {
        let (mut c, _) = Client::start(identity(), 7, 0, None);
        let mut now = 0;
        let mut waits = Vec::new();
        for _ in 0..7 {
            let next = c.deadline();
            waits.push(next - now);
            now = next;
            // Nothing happens before the deadline.
            assert!(c.on_timer(now - 1).is_empty());
            assert_eq!(
                sent(&c.on_timer(now)),
                [(Request::Discover, Destination::Broadcast)]
            );
        }
        for (w, base) in waits.iter().zip([4, 8, 16, 32, 64, 64, 64]) {
            assert!((w - base * 1000).abs() <= 1000, "{waits:?}");
        }
        // Randomized: not all exactly the base.
        assert!(waits
            .iter()
            .zip([4, 8, 16, 32, 64, 64, 64])
            .any(|(w, b)| *w != b * 1000));
        // The same xid throughout one exchange; secs counts up.
        let a = c.on_timer(c.deadline());
        match &a[..] {
            [Action::Send { message, .. }] => assert!(message.secs > 100),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn requesting_without_an_answer_starts_over() {
        let (mut c, _) = Client::start(identity(), 1, 0, None);
        c.on_reply(0, &reply(&c, ReplyKind::Offer(offer(IP))), SERVER_MAC);
        let first = xid(&c);
        for _ in 1..MAX_SELECT_REQUESTS {
            assert_eq!(sent(&c.on_timer(c.deadline()))[0].0, Request::Select);
        }
        assert_eq!(sent(&c.on_timer(c.deadline()))[0].0, Request::Discover);
        assert_eq!(c.state(), "selecting");
        assert_ne!(xid(&c), first);
    }

    #[test]
    fn renews_at_t1_unicast_then_rebinds_at_t2_broadcast_then_expires() {
        let mut c = bound();
        let a = c.on_timer(T0 + 5000);
        assert_eq!(
            sent(&a),
            [(
                Request::Extend,
                Destination::Unicast {
                    ip: SERVER,
                    mac: SERVER_MAC
                }
            )]
        );
        assert_eq!(c.state(), "renewing");
        // Half of the 3 s to T2 is under the 60 s floor: next stop is T2.
        assert_eq!(c.deadline(), T0 + 8000);
        assert_eq!(
            sent(&c.on_timer(T0 + 8000)),
            [(Request::Extend, Destination::Broadcast)]
        );
        assert_eq!(c.state(), "rebinding");
        // 112 s left: retransmit at 56 s... floored to 60 s.
        assert_eq!(c.deadline(), T0 + 68_000);
        assert_eq!(
            sent(&c.on_timer(T0 + 68_000)),
            [(Request::Extend, Destination::Broadcast)]
        );
        assert_eq!(c.deadline(), T0 + 120_000);
        let lease = c.lease().unwrap().clone();
        let a = c.on_timer(T0 + 120_000);
        assert_eq!(a[0], Action::Remove(lease));
        assert_eq!(a[1], Action::Forget);
        assert_eq!(sent(&a[2..]), [(Request::Discover, Destination::Broadcast)]);
        assert_eq!(c.state(), "selecting");
        assert_eq!(
            c.event(),
            Some("lease 192.168.1.3/24 from 192.168.1.254 expired; address removed")
        );
        assert!(c.lease().is_none());
    }

    #[test]
    fn an_ack_while_renewing_extends_the_lease_without_removing_it() {
        let mut c = bound();
        c.on_timer(T0 + 5000);
        let a = c.on_reply(T0 + 5100, &reply(&c, ReplyKind::Ack(offer(IP))), SERVER_MAC);
        let lease = c.lease().unwrap().clone();
        assert_eq!(lease.acquired, T0 + 5100);
        assert_eq!(a, [Action::Install(lease.clone()), Action::Save(lease)]);
        assert_eq!(c.state(), "bound");
        assert_eq!(c.deadline(), T0 + 10_100);
    }

    #[test]
    fn nak_while_renewing_removes_the_address_and_restarts() {
        let mut c = bound();
        c.on_timer(T0 + 5000);
        let lease = c.lease().unwrap().clone();
        let a = c.on_reply(T0 + 5100, &reply(&c, ReplyKind::Nak), SERVER_MAC);
        assert_eq!(a[..2], [Action::Remove(lease), Action::Forget]);
        assert_eq!(c.state(), "selecting");
        assert!(c
            .event()
            .unwrap()
            .contains("refused by 192.168.1.254 (NAK)"));
    }

    #[test]
    fn an_address_in_use_is_declined_and_discovery_waits_10_s() {
        let (mut c, _) = Client::start(identity(), 1, 0, None);
        c.on_reply(0, &reply(&c, ReplyKind::Offer(offer(IP))), SERVER_MAC);
        c.on_reply(10, &reply(&c, ReplyKind::Ack(offer(IP))), SERVER_MAC);
        assert_eq!(c.state(), "probing");
        // Replies while probing are not for us.
        assert!(c
            .on_reply(20, &reply(&c, ReplyKind::Nak), SERVER_MAC)
            .is_empty());
        let holder = MacAddr([2, 0, 0, 0, 0, 9]);
        let a = c.on_conflict(500, holder);
        match &a[..] {
            [Action::Send { message, to }] => {
                assert_eq!(message.request, Request::Decline);
                assert_eq!(message.requested, Some(IP));
                assert_eq!(message.server, Some(SERVER));
                assert_eq!(*to, Destination::Broadcast);
            }
            other => panic!("{other:?}"),
        }
        assert!(c.lease().is_none());
        assert_eq!(
            c.event(),
            Some("declined 192.168.1.3 offered by 192.168.1.254: in use by 02:00:00:00:00:09")
        );
        assert_eq!(c.state(), "selecting");
        assert_eq!(c.deadline(), 500 + DECLINE_WAIT);
        assert!(c.on_timer(500 + DECLINE_WAIT - 1).is_empty());
        assert_eq!(
            sent(&c.on_timer(500 + DECLINE_WAIT)),
            [(Request::Discover, Destination::Broadcast)]
        );
        // A conflict outside probing changes nothing.
        assert!(c.on_conflict(20_000, holder).is_empty());
        let mut b = bound();
        assert!(b.on_conflict(T0 + 1, holder).is_empty());
        assert_eq!(b.state(), "bound");
    }

    #[test]
    fn carrier_back_confirms_at_once_or_discovers_at_once() {
        let mut c = bound();
        assert_eq!(
            sent(&c.on_link_up(T0 + 100)),
            [(
                Request::Extend,
                Destination::Unicast {
                    ip: SERVER,
                    mac: SERVER_MAC
                }
            )]
        );
        assert_eq!(c.state(), "renewing");
        // Renewing: asks again now instead of at T2.
        assert_eq!(
            sent(&c.on_link_up(T0 + 200)),
            [(
                Request::Extend,
                Destination::Unicast {
                    ip: SERVER,
                    mac: SERVER_MAC
                }
            )]
        );
        let (mut c, _) = Client::start(identity(), 3, 0, None);
        for _ in 0..4 {
            c.on_timer(c.deadline());
        }
        assert!(c.deadline() > 30_000);
        let a = c.on_link_up(31_000);
        assert_eq!(sent(&a), [(Request::Discover, Destination::Broadcast)]);
        assert!(c.deadline() <= 36_000);
    }

    #[test]
    fn nak_while_requesting_restarts_without_touching_the_kernel() {
        let (mut c, _) = Client::start(identity(), 1, 0, None);
        c.on_reply(0, &reply(&c, ReplyKind::Offer(offer(IP))), SERVER_MAC);
        let a = c.on_reply(10, &reply(&c, ReplyKind::Nak), SERVER_MAC);
        assert_eq!(sent(&a), [(Request::Discover, Destination::Broadcast)]);
        assert_eq!(a.len(), 1);
        assert!(c.event().is_none());
    }

    #[test]
    fn a_second_server_cannot_move_a_bound_lease() {
        let mut c = bound();
        let other = Ipv4Addr::new(192, 168, 1, 150);
        let rogue = |c: &Client, kind| Reply {
            server: Ipv4Addr::new(192, 168, 1, 253),
            ..reply(c, kind)
        };
        // Bound: nothing is expected at all.
        assert!(c
            .on_reply(T0 + 1, &rogue(&c, ReplyKind::Offer(offer(other))), [9; 6])
            .is_empty());
        // Renewing: only the lease's server may answer.
        c.on_timer(T0 + 5000);
        assert!(c
            .on_reply(T0 + 5001, &rogue(&c, ReplyKind::Ack(offer(IP))), [9; 6])
            .is_empty());
        assert!(c
            .on_reply(T0 + 5001, &rogue(&c, ReplyKind::Nak), [9; 6])
            .is_empty());
        // Rebinding: another server may extend our address, not give another.
        c.on_timer(T0 + 8000);
        assert!(c
            .on_reply(T0 + 8001, &rogue(&c, ReplyKind::Ack(offer(other))), [9; 6])
            .is_empty());
        // Nor take it back: only the lease's own server may NAK it.
        assert!(c
            .on_reply(T0 + 8001, &rogue(&c, ReplyKind::Nak), [9; 6])
            .is_empty());
        assert_eq!(c.lease().unwrap().address.addr(), IP);
        assert_eq!(c.dropped().get(&Dropped::Unexpected), Some(&5));
        let a = c.on_reply(T0 + 8002, &rogue(&c, ReplyKind::Ack(offer(IP))), [9; 6]);
        assert!(matches!(a[0], Action::Install(_)));
        assert_eq!(c.lease().unwrap().server_mac.0, [9; 6]);
    }

    #[test]
    fn the_leases_own_server_can_take_it_back_while_rebinding() {
        let mut c = bound();
        c.on_timer(T0 + 8000);
        assert_eq!(c.state(), "rebinding");
        let a = c.on_reply(T0 + 8001, &reply(&c, ReplyKind::Nak), SERVER_MAC);
        assert!(matches!(a[..2], [Action::Remove(_), Action::Forget]));
        assert_eq!(c.state(), "selecting");
    }

    #[test]
    fn replies_for_other_transactions_or_clients_are_counted_and_dropped() {
        let (mut c, _) = Client::start(identity(), 1, 0, None);
        let mut r = reply(&c, ReplyKind::Offer(offer(IP)));
        r.xid ^= 1;
        assert!(c.on_reply(0, &r, SERVER_MAC).is_empty());
        let mut r = reply(&c, ReplyKind::Offer(offer(IP)));
        r.chaddr = [1; 6];
        assert!(c.on_reply(0, &r, SERVER_MAC).is_empty());
        // An ACK while selecting (no REQUEST sent yet) is not taken either.
        assert!(c
            .on_reply(0, &reply(&c, ReplyKind::Ack(offer(IP))), SERVER_MAC)
            .is_empty());
        assert_eq!(c.state(), "selecting");
        let d = c.dropped();
        assert_eq!(
            (
                d[&Dropped::WrongXid],
                d[&Dropped::WrongChaddr],
                d[&Dropped::Unexpected]
            ),
            (1, 1, 1)
        );
    }

    #[test]
    fn a_known_lease_is_reinstalled_and_confirmed_at_once() {
        let c = bound();
        let mut known = c.lease().unwrap().clone();
        // The next process, 2 s later on the lease's clock.
        known.acquired = -2000;
        let (c, a) = Client::start(identity(), 9, 0, Some(known.clone()));
        assert_eq!(a[0], Action::Install(known));
        assert_eq!(
            sent(&a[1..]),
            [(
                Request::Extend,
                Destination::Unicast {
                    ip: SERVER,
                    mac: SERVER_MAC
                }
            )]
        );
        assert_eq!(c.state(), "renewing");
        // An expired one is not.
        let mut old = c.lease().unwrap().clone();
        old.acquired = -120_000;
        let (c, a) = Client::start(identity(), 9, 0, Some(old));
        assert_eq!(sent(&a), [(Request::Discover, Destination::Broadcast)]);
        assert!(c.lease().is_none());
    }

    #[test]
    fn times_default_to_half_and_seven_eighths_and_insane_ones_are_ignored() {
        let lease = |t1, t2, secs| {
            let o = Offer {
                lease_secs: secs,
                t1_secs: t1,
                t2_secs: t2,
                ..offer(IP)
            };
            let l = Lease::new(0, &o, SERVER, SERVER_MAC);
            (l.t1_secs, l.t2_secs)
        };
        assert_eq!(lease(None, None, 3600), (1800, 3150));
        assert_eq!(lease(Some(9), Some(5), 3600), (1800, 3150));
        assert_eq!(lease(Some(5), Some(9000), 3600), (1800, 3150));
        assert_eq!(lease(Some(60), None, 3600), (60, 3150));
        let l = Lease::new(
            0,
            &Offer {
                lease_secs: u32::MAX,
                t1_secs: None,
                t2_secs: None,
                ..offer(IP)
            },
            SERVER,
            SERVER_MAC,
        );
        assert_eq!(l.expires_at(), Millis::MAX);
        assert_eq!(l.remaining_secs(1_000_000), u32::MAX);
    }
}
