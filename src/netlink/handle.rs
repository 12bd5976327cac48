//! The rtnetlink connection: opening it (optionally inside a named network
//! namespace), dumps, and batches of write requests.

use std::os::fd::AsFd;
use std::path::Path;

use futures::channel::mpsc::UnboundedReceiver;
use futures::StreamExt;
use netlink_packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use nix::sys::socket::{setsockopt, sockopt};
use rtnetlink::proto::{Connection, ConnectionHandle};
use rtnetlink::sys::{protocols::NETLINK_ROUTE, AsyncSocket, SocketAddr};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use super::ack;
use super::error::{KernelError, NetlinkError};
use super::netns::Netns;

/// Receive buffer of every socket. The default (~200 KiB) overflows with a
/// few hundred links (systemd #14417); `SO_RCVBUFFORCE` lifts the
/// `rmem_max` cap when we have `CAP_NET_ADMIN`, `SO_RCVBUF` is the fallback.
const RECEIVE_BUFFER: usize = 8 << 20;

/// Present when the kernel (namespace) has IPv6.
const IPV6_SYSCTLS: &str = "/proc/sys/net/ipv6";

type Unsolicited = UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>;

/// An open rtnetlink connection, bound to one network namespace.
///
/// Dropping it stops the background connection task.
pub struct Handle {
    conn: ConnectionHandle<RouteNetlinkMessage>,
    /// Replies the connection could not match to a request; a receive buffer
    /// overrun shows up here (netlink-proto reports `ENOBUFS` this way).
    unsolicited: Mutex<Unsolicited>,
    task: JoinHandle<()>,
    netns: Option<Netns>,
    /// The namespace has IPv6 (`/proc/sys/net/ipv6`, resolved inside it).
    ipv6: bool,
}

/// How a dump went wrong in a way worth retrying from scratch.
#[derive(Debug)]
pub(crate) enum DumpFailure {
    /// `NLM_F_DUMP_INTR`: the object list changed while it was dumped.
    Interrupted,
    /// The socket lost replies (`ENOBUFS`).
    Overrun,
    /// The kernel refused or aborted the dump; `EBUSY` means a previous
    /// dump on this socket is still running and is worth a retry.
    Kernel(KernelError),
    Closed,
}

impl Handle {
    /// Opens a connection in the current network namespace, or in
    /// `/run/netns/<netns>`. Must be called inside a tokio runtime (the
    /// connection runs as a task on it; a current-thread runtime is fine).
    pub fn open(netns: Option<&str>) -> Result<Handle, NetlinkError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NetlinkError::NoRuntime)?;
        let netns = netns.map(Netns::open).transpose()?;
        let has_ipv6 = || Path::new(IPV6_SYSCTLS).exists();
        let ((conn, handle, unsolicited), ipv6) = match &netns {
            Some(ns) => ns.run(|| Ok::<_, NetlinkError>((connect(&[])?, has_ipv6())))??,
            None => (connect(&[])?, has_ipv6()),
        };
        let task = runtime.spawn(conn);
        tracing::debug!(
            netns = netns.as_ref().map(Netns::name),
            "rtnetlink connection open"
        );
        Ok(Handle {
            conn: handle,
            unsolicited: Mutex::new(unsolicited),
            task,
            netns,
            ipv6,
        })
    }

    /// The named namespace this handle acts in (`None`: the caller's own).
    pub fn netns(&self) -> Option<&str> {
        self.netns.as_ref().map(Netns::name)
    }

    /// The namespace has IPv6 at all.
    pub(crate) fn has_ipv6(&self) -> bool {
        self.ipv6
    }

    /// Runs `f` in this handle's network namespace: for what is resolved by
    /// the opener's namespace, like files under `/proc/sys/net` or another
    /// socket. Without a named namespace `f` just runs.
    pub fn in_netns<T>(&self, f: impl FnOnce() -> T) -> Result<T, NetlinkError> {
        match &self.netns {
            Some(ns) => ns.run(f),
            None => Ok(f()),
        }
    }

    /// A second connection in the same namespace, subscribed to the given
    /// rtnetlink multicast groups (`RTNLGRP_*` numbers); its messages arrive
    /// on the returned receiver.
    pub(crate) fn subscribe(&self, groups: &[u32]) -> Result<Subscription, NetlinkError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NetlinkError::NoRuntime)?;
        let (conn, _handle, messages) = self.in_netns(|| connect(groups))??;
        Ok(Subscription {
            task: runtime.spawn(conn),
            messages,
        })
    }

    /// Dumps every object of one type (`req` is the `RTM_GET*` message,
    /// already carrying any filter), returning the inner messages.
    pub(crate) async fn dump_objects(
        &self,
        req: RouteNetlinkMessage,
    ) -> Result<Vec<RouteNetlinkMessage>, DumpFailure> {
        let mut msg = NetlinkMessage::from(req);
        msg.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        let mut replies = self
            .conn
            .request(msg, SocketAddr::new(0, 0))
            .map_err(|_| DumpFailure::Closed)?;
        let mut unsolicited = self.unsolicited.lock().await;
        let mut out = Vec::new();
        let mut interrupted = false;
        loop {
            tokio::select! {
                reply = replies.next() => {
                    let Some(reply) = reply else { return Err(DumpFailure::Closed) };
                    interrupted |= reply.header.flags & NLM_F_DUMP_INTR != 0;
                    let flags = reply.header.flags;
                    match reply.payload {
                        NetlinkPayload::InnerMessage(m) => out.push(m),
                        NetlinkPayload::Done(done) => {
                            if let Some(e) = ack::done_reply(flags, &done) {
                                return Err(DumpFailure::Kernel(e));
                            }
                            break;
                        }
                        NetlinkPayload::Error(e) => {
                            if let Some(e) = ack::error_reply(flags, &e) {
                                return Err(DumpFailure::Kernel(e));
                            }
                        }
                        NetlinkPayload::Overrun(_) => return Err(DumpFailure::Overrun),
                        _ => {}
                    }
                }
                Some((m, _)) = unsolicited.next() => {
                    if matches!(m.payload, NetlinkPayload::Overrun(_)) {
                        return Err(DumpFailure::Overrun);
                    }
                }
            }
        }
        if interrupted {
            return Err(DumpFailure::Interrupted);
        }
        Ok(out)
    }

    /// Sends `requests` (each with its extra `NLM_F_*` flags) in one datagram
    /// and returns the kernel's verdict on each, in order. The kernel handles
    /// the messages of a datagram one after the other and keeps going after a
    /// refusal, so the verdicts are independent.
    pub(crate) async fn batch(
        &self,
        requests: Vec<(RouteNetlinkMessage, u16)>,
        what: &str,
    ) -> Result<Vec<Result<(), KernelError>>, NetlinkError> {
        let count = requests.len();
        if count == 0 {
            return Ok(Vec::new());
        }
        let messages = requests.into_iter().map(|(m, flags)| {
            let mut msg = NetlinkMessage::from(m);
            msg.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
            msg
        });
        let mut replies = self
            .conn
            .request_batch(messages, SocketAddr::new(0, 0))
            .map_err(|_| NetlinkError::ConnectionClosed(what.to_owned()))?;
        let mut unsolicited = self.unsolicited.lock().await;
        // (sequence number, verdict); the connection numbers the messages of
        // a batch consecutively, so the smallest number is the first message.
        let mut verdicts = Vec::with_capacity(count);
        loop {
            tokio::select! {
                reply = replies.next() => {
                    let Some(reply) = reply else { break };
                    let seq = reply.header.sequence_number;
                    match reply.payload {
                        NetlinkPayload::Error(e) => {
                            verdicts.push((seq, ack::error_reply(reply.header.flags, &e)));
                        }
                        NetlinkPayload::Overrun(_) => {
                            return Err(NetlinkError::Overrun(what.to_owned()));
                        }
                        _ => {}
                    }
                }
                Some((m, _)) = unsolicited.next() => {
                    if matches!(m.payload, NetlinkPayload::Overrun(_)) {
                        return Err(NetlinkError::Overrun(what.to_owned()));
                    }
                }
            }
        }
        if verdicts.len() != count {
            return Err(NetlinkError::ConnectionClosed(what.to_owned()));
        }
        verdicts.sort_by_key(|(seq, _)| *seq);
        Ok(verdicts
            .into_iter()
            .map(|(_, v)| v.map_or(Ok(()), Err))
            .collect())
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A multicast subscription (see [`Handle::subscribe`]).
pub(crate) struct Subscription {
    task: JoinHandle<()>,
    pub(crate) messages: Unsolicited,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Connected = (
    Connection<RouteNetlinkMessage>,
    ConnectionHandle<RouteNetlinkMessage>,
    Unsolicited,
);

/// Creates an rtnetlink socket in the calling thread's namespace, joined to
/// the given multicast groups.
fn connect(groups: &[u32]) -> Result<Connected, NetlinkError> {
    let (mut conn, handle, unsolicited) =
        rtnetlink::proto::new_connection(NETLINK_ROUTE).map_err(NetlinkError::Socket)?;
    let socket = conn.socket_mut().socket_mut();
    if setsockopt(&socket.as_fd(), sockopt::RcvBufForce, &RECEIVE_BUFFER).is_err() {
        socket
            .set_rx_buf_sz(RECEIVE_BUFFER)
            .map_err(NetlinkError::Socket)?;
    }
    socket.set_ext_ack(true).map_err(NetlinkError::Socket)?;
    socket.set_cap_ack(true).map_err(NetlinkError::Socket)?;
    if !groups.is_empty() {
        socket
            .bind(&SocketAddr::new(0, 0))
            .map_err(NetlinkError::Socket)?;
        for group in groups {
            socket
                .add_membership(*group)
                .map_err(NetlinkError::Socket)?;
        }
    }
    // Acks and end-of-dump markers carry the verdicts; keep them.
    conn.set_forward_ack(true);
    conn.set_forward_done(true);
    Ok((conn, handle, unsolicited))
}
