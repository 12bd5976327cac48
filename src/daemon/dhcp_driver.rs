//! The daemon's DHCP clients: one task per link the profile puts on DHCP,
//! each driving a [`Client`] state machine with a packet socket, the
//! monotonic clock and its own rtnetlink connection (so a lease is
//! installed or renewed on time even while the supervisor is busy
//! applying). The supervisor only watches the result: the leases' status
//! on a watch channel ([`Leases`]), and the address in the kernel, which
//! its health model requires before the node counts as online.
//!
//! Leases are kept in `$STATE_DIRECTORY/dhcp-<link>.json` (systemd's
//! `StateDirectory=n3xnet`, else `/var/lib/n3xnet`), so a restart picks up
//! the lease and keeps its address instead of starting over.
//!
//! A reload does not restart the clients: the DHCP links are those of the
//! profile the daemon started with.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ipnet::IpNet;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::api::status::LeaseStatus;
use crate::clock::{at, now_ms};
use crate::desired::DesiredNetwork;
use crate::dhcp::arp;
use crate::dhcp::client::{Action, Client, Destination, Lease, Millis};
use crate::dhcp::frame;
use crate::dhcp::packet::{self, Identity};
use crate::dhcp::socket::{self, PacketSocket, Protocol};
use crate::dhcp::store::{Clocks, Store};
use crate::netlink::{Burst, Events, Handle, LeaseRoute, NetlinkError};
use crate::state::KernelState;

/// The metric of a DHCP default route (networkd's default too), so a
/// static default route of the profile's (metric 0 or its own) wins.
pub const DEFAULT_ROUTE_METRIC: u32 = 1024;

/// Waits between attempts to start a client whose link or socket is not
/// there yet (a NIC whose driver is still loading).
const SETUP_RETRY: [Duration; 4] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(15),
];

/// The least time between two re-adds of a lease's address or route that
/// someone else removed: a program fighting us gets one answer per period,
/// not one per event.
const RESTORE_PERIOD: Duration = Duration::from_secs(5);

/// Large enough for any DHCP reply in one Ethernet frame.
const RECEIVE_BUFFER: usize = 2048;

/// The leases of every DHCP link, in the profile's order.
pub type Leases = watch::Receiver<Vec<LeaseStatus>>;

/// What needs saying in `STATUS=` about the leases: a lost lease, a
/// lease running out because its server does not answer (rebinding), a
/// lease other than the reserved address, a client that cannot run.
pub fn status_notes(leases: &[LeaseStatus]) -> Vec<String> {
    let mut notes = Vec::new();
    for l in leases {
        if let Some(e) = &l.error {
            notes.push(format!("{}: DHCP: {e}", l.link));
        }
        if let Some(e) = &l.event {
            notes.push(format!("{}: DHCP {e}", l.link));
        }
        if let (true, Some(a), Some(s), Some(at)) =
            (l.state == "rebinding", l.address, l.server, l.expires_at_ms)
        {
            notes.push(format!(
                "{}: DHCP server {s} not answering, lease {a} expires at {} UTC",
                l.link,
                crate::clock::hms(at)
            ));
        }
        if l.differs_from_reserved {
            if let (Some(a), Some(r)) = (l.address, l.reserved) {
                notes.push(format!(
                    "{}: DHCP leased {}, not the reserved {r}",
                    l.link,
                    a.addr()
                ));
            }
        }
    }
    notes
}

/// Starts a client for every DHCP link of `desired` in `netns`, on a
/// thread of their own; with no DHCP link, no thread, and the channel is
/// closed at once and never changes.
///
/// Their own thread (and current-thread runtime) rather than tasks beside
/// the supervisor: the netlink handle's futures are not provably `Send`,
/// and a renewal must not wait for an apply on the supervisor's thread.
pub fn start(desired: &DesiredNetwork, netns: Option<&str>) -> Leases {
    let links: Vec<LinkSetup> = {
        let dir = crate::service::state_dir();
        desired
            .links
            .iter()
            .filter(|l| l.dhcp)
            .map(|l| LinkSetup {
                link: l.name.clone(),
                netns: netns.map(str::to_owned),
                hostname: desired.node.clone(),
                reserved: desired.cluster_ip,
                default_route: !desired
                    .routes
                    .iter()
                    .any(|r| r.destination == IpNet::V4(Default::default()) && r.link != l.name),
                store: Store::new(&dir, &l.name),
            })
            .collect()
    };
    let initial = links.iter().map(LinkSetup::starting).collect();
    let (tx, rx) = watch::channel(initial);
    if links.is_empty() {
        return rx;
    }
    let spawned = std::thread::Builder::new()
        .name("n3xnetd-dhcp".to_owned())
        .spawn(move || {
            let runtime = match crate::runtime::current_thread() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!("DHCP: cannot start the runtime: {e}");
                    return;
                }
            };
            let clients = links.into_iter().enumerate().map(|(slot, setup)| {
                run(
                    setup,
                    Publisher {
                        tx: tx.clone(),
                        slot,
                    },
                )
            });
            runtime.block_on(futures::future::join_all(clients));
        });
    if let Err(e) = spawned {
        tracing::error!("DHCP: cannot start the client thread: {e}");
    }
    rx
}

/// Everything a link's client needs to start.
#[derive(Debug, Clone)]
struct LinkSetup {
    link: String,
    netns: Option<String>,
    hostname: String,
    reserved: Ipv4Addr,
    /// The profile leaves the default route to DHCP.
    default_route: bool,
    store: Store,
}

impl LinkSetup {
    fn starting(&self) -> LeaseStatus {
        LeaseStatus {
            link: self.link.clone(),
            state: "starting".to_owned(),
            reserved: Some(self.reserved),
            ..LeaseStatus::default()
        }
    }
}

/// One link's slot in the leases channel.
#[derive(Clone)]
struct Publisher {
    tx: watch::Sender<Vec<LeaseStatus>>,
    slot: usize,
}

impl Publisher {
    fn set(&self, status: LeaseStatus) {
        self.tx
            .send_if_modified(|all| match all.get_mut(self.slot) {
                Some(s) if *s != status => {
                    *s = status;
                    true
                }
                _ => false,
            });
    }
}

#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error("the rtnetlink event subscription closed")]
    EventsClosed,
    #[error("link {0} does not exist")]
    NoLink(String),
    #[error("link {0} has no MAC address")]
    NoMac(String),
    #[error("packet socket on {link}: {source}")]
    Socket {
        link: String,
        #[source]
        source: std::io::Error,
    },
}

/// Runs the link's client for the life of the daemon, starting it again
/// (with backoff) when the link or the socket fails.
async fn run(setup: LinkSetup, publisher: Publisher) {
    let mut failures = 0usize;
    loop {
        match Session::open(&setup, publisher.clone()).await {
            Ok(mut session) => {
                failures = 0;
                let e = session.run().await;
                tracing::warn!(link = %setup.link, "DHCP client stopped: {e}; starting again");
            }
            Err(e) => {
                // Said once per streak, then quietly retried.
                if failures == 0 {
                    tracing::warn!(link = %setup.link, "DHCP client cannot start: {e}");
                }
                publisher.set(LeaseStatus {
                    error: Some(e.to_string()),
                    ..setup.starting()
                });
            }
        }
        let wait = SETUP_RETRY[failures.min(SETUP_RETRY.len() - 1)];
        failures += 1;
        tokio::time::sleep(wait).await;
    }
}

/// A running client on an open socket.
struct Session {
    setup: LinkSetup,
    handle: Handle,
    socket: PacketSocket,
    ifindex: u32,
    id: Identity,
    client: Client,
    origin: Instant,
    pending: Vec<Action>,
    /// The default route currently installed.
    route: Option<LeaseRoute>,
    publisher: Publisher,
    /// Kernel changes: the link's carrier coming back, and a lease's
    /// address or route that someone removed (the planner leaves them to
    /// us).
    events: Events,
    /// The link's carrier as last seen.
    carrier: bool,
    /// The kernel's carrier-down counter as last seen: a pull and plug
    /// quicker than one burst of events leaves `carrier` on at both looks,
    /// the counter still moves.
    carrier_downs: Option<u32>,
    last_restore: Option<Instant>,
    /// While an acknowledged address is probed: the ARP socket and the
    /// address.
    arp: Option<(PacketSocket, Ipv4Addr)>,
}

impl Session {
    async fn open(setup: &LinkSetup, publisher: Publisher) -> Result<Session, SessionError> {
        let handle = Handle::open(setup.netns.as_deref())?;
        let events = handle.events()?;
        let state = handle.dump().await?;
        let link = state
            .link(&setup.link)
            .ok_or_else(|| SessionError::NoLink(setup.link.clone()))?;
        let mac = link
            .mac
            .ok_or_else(|| SessionError::NoMac(setup.link.clone()))?
            .0;
        let ifindex = link.index;
        let carrier = link.carrier;
        let carrier_downs = link.carrier_down_count;
        let socket = open_socket(&handle, &setup.link, ifindex, Protocol::Dhcp)?;
        let id = Identity {
            mac,
            hostname: setup.hostname.clone(),
        };
        let origin = Instant::now();
        let clocks = Clocks {
            now: 0,
            unix_ms: unix_ms(),
        };
        let known = setup.store.load(mac, clocks).unwrap_or_else(|e| {
            tracing::warn!(link = %setup.link, "{e}; starting without it");
            None
        });
        if let Some(l) = &known {
            tracing::info!(link = %setup.link, address = %l.address, server = %l.server, "DHCP: resuming the saved lease");
        }
        let (client, pending) = Client::start(id.clone(), seed(mac), 0, known);
        Ok(Session {
            setup: setup.clone(),
            handle,
            socket,
            ifindex,
            id,
            client,
            origin,
            pending,
            // A previous run's default route is replaced in place by the
            // first install.
            route: None,
            publisher,
            events,
            carrier,
            carrier_downs,
            last_restore: None,
            arp: None,
        })
    }

    fn now(&self) -> Millis {
        Millis::try_from(self.origin.elapsed().as_millis()).unwrap_or(Millis::MAX)
    }

    /// Runs until the socket fails.
    async fn run(&mut self) -> SessionError {
        let mut buf = vec![0u8; RECEIVE_BUFFER];
        let mut arp_buf = [0u8; 64];
        loop {
            let actions = std::mem::take(&mut self.pending);
            self.carry_out(actions).await;
            if self.client.state() != "probing" {
                self.arp = None;
            }
            self.publisher.set(self.status());
            let deadline = self.client.deadline();
            let wake = u64::try_from(deadline)
                .ok()
                .filter(|d| *d < u64::MAX / 2)
                .map(|d| self.origin + Duration::from_millis(d));
            tokio::select! {
                received = self.socket.recv(&mut buf) => match received {
                    Ok((n, from)) => {
                        let now = self.now();
                        self.pending = match frame::unwrap(&buf[..n]).and_then(packet::parse) {
                            Ok(reply) => self.client.on_reply(now, &reply, from),
                            Err(why) => {
                                tracing::debug!(link = %self.setup.link, reason = why.as_str(), "DHCP packet dropped");
                                self.client.count_dropped(why);
                                Vec::new()
                            }
                        };
                    }
                    Err(source) => {
                        return SessionError::Socket { link: self.setup.link.clone(), source };
                    }
                },
                _ = at(wake) => {
                    let now = self.now();
                    self.pending = self.client.on_timer(now);
                }
                received = recv_on(self.arp.as_ref().map(|(s, _)| s), &mut arp_buf) => {
                    self.on_arp(received.map(|(n, _)| &arp_buf[..n]));
                }
                burst = self.events.next_burst() => match burst {
                    Some(b) => self.on_kernel_change(b).await,
                    None => return SessionError::EventsClosed,
                },
            }
        }
    }

    /// Carries out `actions`, publishing the new state first: the
    /// supervisor then knows of a lease before the kernel event of its
    /// address reaches it (READY's `STATUS=` includes the lease's notes).
    async fn carry_out(&mut self, actions: Vec<Action>) {
        self.publisher.set(self.status());
        for action in actions {
            let link = self.setup.link.as_str();
            match action {
                Action::Send { message, to } => {
                    let payload = match packet::build(&self.id, &message) {
                        Ok(p) => p,
                        Err(e) => {
                            tracing::error!(link, "{e}");
                            continue;
                        }
                    };
                    let src = message.ciaddr.unwrap_or(Ipv4Addr::UNSPECIFIED);
                    let (dst, mac) = match to {
                        Destination::Broadcast => (Ipv4Addr::BROADCAST, None),
                        Destination::Unicast { ip, mac } => (ip, Some(mac)),
                    };
                    tracing::debug!(link, request = ?message.request, xid = message.xid, %dst, "DHCP send");
                    if let Err(e) = self.socket.send(&frame::wrap(src, dst, &payload), mac) {
                        // The retransmission timer tries again.
                        tracing::warn!(link, "cannot send the DHCP {:?}: {e}", message.request);
                    }
                }
                Action::Probe(ip) => self.probe(ip),
                Action::Install(lease) => self.install(&lease).await,
                Action::Remove(lease) => self.remove(&lease).await,
                Action::Save(lease) => {
                    let clocks = Clocks {
                        now: self.now(),
                        unix_ms: unix_ms(),
                    };
                    if let Err(e) = self.setup.store.save(self.id.mac, &lease, clocks) {
                        tracing::warn!(link, "{e}: a restart will not find this lease");
                    }
                }
                Action::Forget => {
                    if let Err(e) = self.setup.store.forget() {
                        tracing::warn!(link, "{e}");
                    }
                }
            }
        }
    }

    async fn install(&mut self, lease: &Lease) {
        let link = self.setup.link.as_str();
        let lifetime = lease.remaining_secs(self.now());
        match self
            .handle
            .set_lease_address(self.ifindex, lease.address, lifetime)
            .await
        {
            Ok(()) => tracing::info!(
                link,
                address = %lease.address,
                server = %lease.server,
                lease_secs = lease.lease_secs,
                t1_secs = lease.t1_secs,
                t2_secs = lease.t2_secs,
                "DHCP lease {} from {} ({} s)",
                lease.address,
                lease.server,
                lease.lease_secs
            ),
            Err(e) => tracing::error!(link, "cannot install the DHCP lease: {e}"),
        }
        if lease.address.addr() != self.setup.reserved {
            tracing::warn!(
                link,
                address = %lease.address,
                reserved = %self.setup.reserved,
                "the DHCP lease is not the profile's reserved address {}",
                self.setup.reserved
            );
        }
        let want = lease
            .router
            .filter(|_| self.setup.default_route)
            .map(|gateway| LeaseRoute {
                ifindex: self.ifindex,
                gateway,
                metric: DEFAULT_ROUTE_METRIC,
            });
        if self.route != want {
            if let Some(old) = self.route.take() {
                if let Err(e) = self.handle.delete_lease_route(old).await {
                    tracing::warn!(link, "{e}");
                }
            }
        }
        if let Some(r) = want {
            match self.handle.set_lease_route(r).await {
                Ok(()) => self.route = Some(r),
                Err(e) => tracing::error!(link, "cannot add the DHCP default route: {e}"),
            }
        }
    }

    /// An ARP packet while probing: a conflict declines the address.
    fn on_arp(&mut self, received: std::io::Result<&[u8]>) {
        let Some((_, ip)) = &self.arp else { return };
        let ip = *ip;
        match received {
            Ok(packet) => {
                if let Some(holder) = arp::holder(packet, self.id.mac, ip) {
                    tracing::warn!(
                        link = %self.setup.link,
                        address = %ip,
                        holder = %holder,
                        "DHCP: {ip} is in use by {holder}: declining it"
                    );
                    let now = self.now();
                    self.pending = self.client.on_conflict(now, holder);
                }
            }
            Err(e) => {
                // The probe's timer still ends the wait.
                tracing::warn!(link = %self.setup.link, "ARP probe socket: {e}");
                self.arp = None;
            }
        }
    }

    /// Sends the ARP probes for `ip` (twice: one lost frame must not let
    /// a conflict through) and listens for answers until the client leaves
    /// the probing state.
    fn probe(&mut self, ip: Ipv4Addr) {
        let link = self.setup.link.as_str();
        let socket = match open_socket(&self.handle, link, self.ifindex, Protocol::Arp) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(link, "cannot probe {ip} with ARP: {e}; using it unchecked");
                return;
            }
        };
        let probe = arp::probe(self.id.mac, ip);
        for _ in 0..2 {
            if let Err(e) = socket.send(&probe, None) {
                tracing::warn!(link, "cannot send the ARP probe for {ip}: {e}");
            }
        }
        tracing::debug!(link, address = %ip, "DHCP: probing the address with ARP");
        self.arp = Some((socket, ip));
    }

    /// A burst of kernel notifications: one dump tells whether the carrier
    /// came back and whether the lease's objects are still there.
    async fn on_kernel_change(&mut self, burst: Burst) {
        self.events.discard();
        let state = match self.handle.dump().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(link = %self.setup.link, "cannot read the kernel state: {e}");
                return;
            }
        };
        let link = state.link(&self.setup.link);
        let carrier = link.is_some_and(|l| l.carrier);
        let downs = link.and_then(|l| l.carrier_down_count);
        let lost_unseen = matches!((self.carrier_downs, downs), (Some(a), Some(b)) if b != a);
        self.carrier_downs = downs;
        if carrier && (!self.carrier || lost_unseen) {
            tracing::info!(link = %self.setup.link, "DHCP: carrier back; confirming the lease or discovering now");
            let now = self.now();
            self.pending = self.client.on_link_up(now);
        }
        self.carrier = carrier;
        if burst.addresses > 0 || burst.routes > 0 || burst.overrun {
            self.restore(&state).await;
        }
    }

    /// Puts the lease's address and default route back when someone
    /// removed them (at most once per [`RESTORE_PERIOD`]). The kernel's own
    /// expiry of the address is left to the client's timer, which runs
    /// out at the same moment.
    async fn restore(&mut self, state: &KernelState) {
        let Some(lease) = self.client.lease().cloned() else {
            return;
        };
        if lease.remaining_secs(self.now()) < 2
            || self
                .last_restore
                .is_some_and(|t| t.elapsed() < RESTORE_PERIOD)
        {
            return;
        }
        let link = self.setup.link.as_str();
        let has_address = state
            .addresses_on(link)
            .any(|a| a.address == IpNet::V4(lease.address));
        let has_route = self.route.is_none_or(|r| {
            state.routes.iter().any(|k| {
                k.destination.prefix_len() == 0
                    && k.gateway == Some(IpAddr::V4(r.gateway))
                    && k.metric.unwrap_or(0) == r.metric
                    && k.link.as_deref() == Some(link)
            })
        });
        if has_address && has_route {
            return;
        }
        tracing::warn!(
            link,
            address = %lease.address,
            "DHCP: the lease's {} was removed by someone else; putting it back",
            if has_address { "default route" } else { "address" }
        );
        self.last_restore = Some(Instant::now());
        // Re-added from scratch: a missing address took its routes along.
        self.route = None;
        self.install(&lease).await;
        self.publisher.set(self.status());
    }

    async fn remove(&mut self, lease: &Lease) {
        let link = self.setup.link.as_str();
        if let Some(r) = self.route.take() {
            if let Err(e) = self.handle.delete_lease_route(r).await {
                tracing::warn!(link, "{e}");
            }
        }
        match self
            .handle
            .delete_lease_address(self.ifindex, lease.address)
            .await
        {
            Ok(()) => tracing::warn!(
                link,
                address = %lease.address,
                "DHCP: {}",
                self.client.event().unwrap_or("lease lost; address removed")
            ),
            Err(e) => tracing::error!(link, "cannot remove the DHCP address: {e}"),
        }
    }

    fn status(&self) -> LeaseStatus {
        let now = self.now();
        let unix = unix_ms();
        // A time on our clock as wall-clock ms (None: never).
        let wall = |t: Millis| {
            (t != Millis::MAX)
                .then(|| u64::try_from(t.saturating_sub(now).saturating_add(unix)).ok())
                .flatten()
        };
        let secs_until = |t: Millis| {
            (t != Millis::MAX).then(|| u64::try_from((t - now).max(0) / 1000).unwrap_or(0))
        };
        let lease = self.client.lease();
        LeaseStatus {
            link: self.setup.link.clone(),
            state: self.client.state().to_owned(),
            address: lease.map(|l| l.address),
            server: lease.map(|l| l.server),
            router: lease.and_then(|l| l.router),
            default_route: self.route.is_some(),
            lease_secs: lease.map(|l| l.lease_secs),
            t1_secs: lease.map(|l| l.t1_secs),
            t2_secs: lease.map(|l| l.t2_secs),
            acquired_at_ms: lease.and_then(|l| wall(l.acquired)),
            renew_at_ms: lease.and_then(|l| wall(l.renew_at())),
            expires_at_ms: lease.and_then(|l| wall(l.expires_at())),
            renew_in_secs: lease.and_then(|l| secs_until(l.renew_at())),
            expires_in_secs: lease.and_then(|l| secs_until(l.expires_at())),
            reserved: Some(self.setup.reserved),
            differs_from_reserved: lease.is_some_and(|l| l.address.addr() != self.setup.reserved),
            dropped: self
                .client
                .dropped()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), *v))
                .collect(),
            event: self.client.event().map(str::to_owned),
            error: None,
        }
    }
}

/// A packet socket on `ifindex`, opened in the handle's namespace.
fn open_socket(
    handle: &Handle,
    link: &str,
    ifindex: u32,
    protocol: Protocol,
) -> Result<PacketSocket, SessionError> {
    let socket_error = |source| SessionError::Socket {
        link: link.to_owned(),
        source,
    };
    let fd = handle
        .in_netns(|| socket::open(ifindex, protocol))?
        .map_err(socket_error)?;
    PacketSocket::register(fd, ifindex, protocol).map_err(socket_error)
}

async fn recv_on(
    socket: Option<&PacketSocket>,
    buf: &mut [u8],
) -> std::io::Result<(usize, [u8; 6])> {
    match socket {
        Some(s) => s.recv(buf).await,
        None => std::future::pending().await,
    }
}

fn unix_ms() -> Millis {
    Millis::try_from(now_ms()).unwrap_or(Millis::MAX)
}

/// Transaction ids must differ between clients and between runs of one:
/// the MAC, the time and the pid mixed.
fn seed(mac: [u8; 6]) -> u64 {
    let mut m = [0u8; 8];
    m[..6].copy_from_slice(&mac);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    u64::from_le_bytes(m) ^ nanos.rotate_left(17) ^ u64::from(std::process::id()) << 48
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_say_what_needs_attention() {
        let base = LeaseStatus {
            link: "eth1".into(),
            state: "bound".into(),
            address: Some("192.168.1.3/24".parse().unwrap()),
            server: Some("192.168.1.254".parse().unwrap()),
            reserved: Some("192.168.1.3".parse().unwrap()),
            // 1970-01-02 01:02:03.5
            expires_at_ms: Some((86_400 + 3723) * 1000 + 500),
            ..LeaseStatus::default()
        };
        assert!(status_notes(std::slice::from_ref(&base)).is_empty());
        let rebinding = LeaseStatus {
            state: "rebinding".into(),
            ..base.clone()
        };
        assert_eq!(
            status_notes(&[rebinding]),
            ["eth1: DHCP server 192.168.1.254 not answering, lease 192.168.1.3/24 expires at 01:02:03 UTC"]
        );
        let other = LeaseStatus {
            address: Some("192.168.1.150/24".parse().unwrap()),
            differs_from_reserved: true,
            ..base.clone()
        };
        assert_eq!(
            status_notes(&[other]),
            ["eth1: DHCP leased 192.168.1.150, not the reserved 192.168.1.3"]
        );
        let broken = LeaseStatus {
            state: "starting".into(),
            error: Some("link eth1 does not exist".into()),
            address: None,
            ..base
        };
        assert_eq!(
            status_notes(&[broken]),
            ["eth1: DHCP: link eth1 does not exist"]
        );
    }
}
