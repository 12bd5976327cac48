//! DHCPv4 messages: what the client sends, built with `dhcproto`, and the
//! vetting of what it receives. Everything a reply must hold before the
//! state machine looks at it is checked here, so a hostile or broken
//! server can at worst have its packet dropped (and counted).

use std::fmt;
use std::net::Ipv4Addr;

use dhcproto::v4::{DhcpOption, Flags, Message, MessageType, Opcode, OptionCode};
use dhcproto::{Decodable, Encodable};
use ipnet::Ipv4Net;

pub use dhcproto::v4::{CLIENT_PORT, SERVER_PORT};

/// Who the client is to servers: its MAC (chaddr), the client identifier
/// derived from it, and the hostname it announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub mac: [u8; 6],
    /// Option 12; never taken from the server.
    pub hostname: String,
}

impl Identity {
    /// Option 61: hardware type 1 (Ethernet) and the MAC, as ISC dhclient
    /// and dnsmasq expect. It depends on nothing but the MAC, so it stays
    /// the same across restarts and reinstalls, and MAC reservations
    /// (`dhcp-host=MAC,IP`) match it.
    pub fn client_id(&self) -> Vec<u8> {
        let mut id = Vec::with_capacity(7);
        id.push(1);
        id.extend_from_slice(&self.mac);
        id
    }
}

/// The client's message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Discover,
    /// SELECTING: answers an offer (`server` and `requested` set).
    Select,
    /// RENEWING (unicast) and REBINDING (broadcast): `ciaddr` set.
    Extend,
    /// The acknowledged address is in use (`requested` and `server` set).
    Decline,
}

/// One message to send, before encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub request: Request,
    pub xid: u32,
    /// Seconds since the exchange began (RFC 2131 `secs`).
    pub secs: u16,
    /// Our current address (RENEWING/REBINDING only).
    pub ciaddr: Option<Ipv4Addr>,
    /// Option 50 (SELECTING).
    pub requested: Option<Ipv4Addr>,
    /// Option 54 (SELECTING).
    pub server: Option<Ipv4Addr>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot encode the DHCP {request:?}: {source}")]
pub struct EncodeError {
    request: Request,
    #[source]
    source: dhcproto::error::EncodeError,
}

/// The options we ask servers for (option 55).
const WANTED: [OptionCode; 5] = [
    OptionCode::SubnetMask,
    OptionCode::Router,
    OptionCode::AddressLeaseTime,
    OptionCode::Renewal,
    OptionCode::Rebinding,
];

/// The DHCP payload (BOOTP message) of `out`.
pub fn build(id: &Identity, out: &Outgoing) -> Result<Vec<u8>, EncodeError> {
    let unspecified = Ipv4Addr::UNSPECIFIED;
    let mut msg = Message::new_with_id(
        out.xid,
        out.ciaddr.unwrap_or(unspecified),
        unspecified,
        unspecified,
        unspecified,
        &id.mac,
    );
    msg.set_secs(out.secs);
    // Without an address we cannot receive unicast: ask for broadcast
    // replies (our packet socket would see unicast ones too, but a relay
    // or the server's ARP would not know where to send them).
    if out.ciaddr.is_none() {
        msg.set_flags(Flags::default().set_broadcast());
    }
    let opts = msg.opts_mut();
    opts.insert(DhcpOption::MessageType(match out.request {
        Request::Discover => MessageType::Discover,
        Request::Select | Request::Extend => MessageType::Request,
        Request::Decline => MessageType::Decline,
    }));
    opts.insert(DhcpOption::ClientIdentifier(id.client_id()));
    // RFC 2131 table 5: a DECLINE carries nothing else but the address
    // and the server.
    if out.request != Request::Decline {
        if !id.hostname.is_empty() {
            opts.insert(DhcpOption::Hostname(id.hostname.clone()));
        }
        opts.insert(DhcpOption::ParameterRequestList(WANTED.to_vec()));
    }
    if let Some(ip) = out.requested {
        opts.insert(DhcpOption::RequestedIpAddress(ip));
    }
    if let Some(ip) = out.server {
        opts.insert(DhcpOption::ServerIdentifier(ip));
    }
    msg.to_vec().map_err(|source| EncodeError {
        request: out.request,
        source,
    })
}

/// A server's reply, vetted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub xid: u32,
    pub chaddr: [u8; 6],
    /// Option 54.
    pub server: Ipv4Addr,
    pub kind: ReplyKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyKind {
    Offer(Offer),
    Ack(Offer),
    Nak,
}

/// What an OFFER or ACK gives: the address with its subnet and the times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub address: Ipv4Net,
    /// Option 3, the first router.
    pub router: Option<Ipv4Addr>,
    /// Option 51; `u32::MAX` is infinite.
    pub lease_secs: u32,
    /// Options 58 and 59 when the server gives sane ones.
    pub t1_secs: Option<u32>,
    pub t2_secs: Option<u32>,
}

/// Why a received packet was dropped; counted per reason in the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dropped {
    /// Not an IPv4 UDP datagram to port 68 from port 67, a fragment, or a
    /// bad IP header checksum or length.
    NotDhcp,
    /// The BOOTP/DHCP message does not decode.
    Malformed,
    /// `op` is not BOOTREPLY, or the hardware type/length is not Ethernet.
    NotReply,
    /// No option 53, or a type a client never receives.
    BadType,
    /// No option 54.
    NoServer,
    /// OFFER/ACK without a usable address, subnet mask or lease time.
    BadLease,
    /// The transaction is not ours (another client's, or one we left).
    WrongXid,
    /// For another client's hardware address.
    WrongChaddr,
    /// A valid reply we have no use for in the current state (a late
    /// offer, a second server's offer, an ACK for another address).
    Unexpected,
}

impl Dropped {
    pub fn as_str(self) -> &'static str {
        match self {
            Dropped::NotDhcp => "not-dhcp",
            Dropped::Malformed => "malformed",
            Dropped::NotReply => "not-reply",
            Dropped::BadType => "bad-type",
            Dropped::NoServer => "no-server-id",
            Dropped::BadLease => "bad-lease",
            Dropped::WrongXid => "wrong-xid",
            Dropped::WrongChaddr => "wrong-chaddr",
            Dropped::Unexpected => "unexpected",
        }
    }
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Decodes and vets a DHCP payload. Never panics, whatever the bytes.
pub fn parse(payload: &[u8]) -> Result<Reply, Dropped> {
    let payload = only_known_options(payload)?;
    let msg = Message::from_bytes(&payload).map_err(|_| Dropped::Malformed)?;
    if msg.opcode() != Opcode::BootReply || msg.hlen() != 6 {
        return Err(Dropped::NotReply);
    }
    let mut chaddr = [0u8; 6];
    chaddr.copy_from_slice(msg.chaddr().get(..6).ok_or(Dropped::NotReply)?);
    let opts = msg.opts();
    let server = match opts.get(OptionCode::ServerIdentifier) {
        Some(DhcpOption::ServerIdentifier(ip)) if unicast(*ip) => *ip,
        _ => return Err(Dropped::NoServer),
    };
    let kind = match opts.get(OptionCode::MessageType) {
        Some(DhcpOption::MessageType(MessageType::Offer)) => ReplyKind::Offer(offer(&msg)?),
        Some(DhcpOption::MessageType(MessageType::Ack)) => ReplyKind::Ack(offer(&msg)?),
        Some(DhcpOption::MessageType(MessageType::Nak)) => ReplyKind::Nak,
        _ => return Err(Dropped::BadType),
    };
    Ok(Reply {
        xid: msg.xid(),
        chaddr,
        server,
        kind,
    })
}

/// Offset of the magic cookie, after the fixed BOOTP header.
const COOKIE_AT: usize = 236;
const COOKIE: [u8; 4] = [99, 130, 83, 99];
/// The options the client reads; every other one is stripped before
/// decoding. `dhcproto` asserts on the length of some options it decodes
/// (client FQDN, rapid commit, ...; a fuzz test here found it), and
/// option 52 would make it read `sname`/`file` as options: what we never
/// decode cannot hurt us.
const KNOWN_OPTIONS: [u8; 7] = [1, 3, 51, 53, 54, 58, 59];

/// The payload with only [`KNOWN_OPTIONS`], after checking that the
/// option list is well formed (each option inside the packet).
fn only_known_options(payload: &[u8]) -> Result<Vec<u8>, Dropped> {
    let start = COOKIE_AT + COOKIE.len();
    if payload.len() < start || payload[COOKIE_AT..start] != COOKIE {
        return Err(Dropped::Malformed);
    }
    let mut out = payload[..start].to_vec();
    let mut rest = &payload[start..];
    loop {
        match rest {
            [] | [255, ..] => break,
            [0, tail @ ..] => rest = tail,
            [code, len, tail @ ..] => {
                let len = usize::from(*len);
                let value = tail.get(..len).ok_or(Dropped::Malformed)?;
                if KNOWN_OPTIONS.contains(code) {
                    out.push(*code);
                    out.push(len as u8);
                    out.extend_from_slice(value);
                }
                rest = &tail[len..];
            }
            [_] => return Err(Dropped::Malformed),
        }
    }
    out.push(255);
    Ok(out)
}

fn offer(msg: &Message) -> Result<Offer, Dropped> {
    let opts = msg.opts();
    let ip = msg.yiaddr();
    if !unicast(ip) {
        return Err(Dropped::BadLease);
    }
    let prefix = match opts.get(OptionCode::SubnetMask) {
        Some(DhcpOption::SubnetMask(mask)) => {
            ipnet::ipv4_mask_to_prefix(*mask).map_err(|_| Dropped::BadLease)?
        }
        _ => classful_prefix(ip).ok_or(Dropped::BadLease)?,
    };
    // A /31 or /32 has no on-link neighbours to speak of; refuse nonsense
    // masks that would swallow the whole address space too.
    if !(8..=30).contains(&prefix) {
        return Err(Dropped::BadLease);
    }
    let address = Ipv4Net::new(ip, prefix).map_err(|_| Dropped::BadLease)?;
    if ip == address.network() || ip == address.broadcast() {
        return Err(Dropped::BadLease);
    }
    let lease_secs = match opts.get(OptionCode::AddressLeaseTime) {
        Some(DhcpOption::AddressLeaseTime(s)) if *s > 0 => *s,
        _ => return Err(Dropped::BadLease),
    };
    let secs = |code| match opts.get(code) {
        Some(DhcpOption::Renewal(s) | DhcpOption::Rebinding(s)) => Some(*s),
        _ => None,
    };
    let router = match opts.get(OptionCode::Router) {
        Some(DhcpOption::Router(list)) => list
            .iter()
            .copied()
            .find(|r| unicast(*r) && address.contains(r) && *r != ip),
        _ => None,
    };
    Ok(Offer {
        address,
        router,
        lease_secs,
        t1_secs: secs(OptionCode::Renewal),
        t2_secs: secs(OptionCode::Rebinding),
    })
}

/// A host address: not 0.0.0.0, broadcast, multicast, loopback or
/// class E.
fn unicast(ip: Ipv4Addr) -> bool {
    !(ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_loopback()
        || ip.octets()[0] >= 240)
}

/// RFC 2131 3.3's fallback when a server sends no subnet mask.
fn classful_prefix(ip: Ipv4Addr) -> Option<u8> {
    match ip.octets()[0] {
        0..=127 => Some(8),
        128..=191 => Some(16),
        192..=223 => Some(24),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub const MAC: [u8; 6] = [0x52, 0x54, 0, 1, 1, 3];
    pub const SERVER: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 254);

    pub fn identity() -> Identity {
        Identity {
            mac: MAC,
            hostname: "agent-1".into(),
        }
    }

    /// A server's reply as dnsmasq builds it.
    pub fn reply(kind: MessageType, xid: u32, yiaddr: Ipv4Addr, extra: &[DhcpOption]) -> Vec<u8> {
        let u = Ipv4Addr::UNSPECIFIED;
        let mut m = Message::new_with_id(xid, u, yiaddr, u, u, &MAC);
        m.set_opcode(Opcode::BootReply);
        let o = m.opts_mut();
        o.insert(DhcpOption::MessageType(kind));
        o.insert(DhcpOption::ServerIdentifier(SERVER));
        if kind != MessageType::Nak {
            o.insert(DhcpOption::SubnetMask(Ipv4Addr::new(255, 255, 255, 0)));
            o.insert(DhcpOption::AddressLeaseTime(120));
        }
        for e in extra {
            o.insert(e.clone());
        }
        m.to_vec().unwrap()
    }

    #[test]
    fn discover_carries_identity_hostname_and_broadcast_flag() {
        let out = Outgoing {
            request: Request::Discover,
            xid: 7,
            secs: 3,
            ciaddr: None,
            requested: None,
            server: None,
        };
        let bytes = build(&identity(), &out).unwrap();
        let m = Message::from_bytes(&bytes).unwrap();
        assert_eq!(m.opcode(), Opcode::BootRequest);
        assert_eq!(m.xid(), 7);
        assert_eq!(m.secs(), 3);
        assert!(m.flags().broadcast());
        assert_eq!(&m.chaddr()[..6], &MAC);
        assert_eq!(
            m.opts().get(OptionCode::ClientIdentifier),
            Some(&DhcpOption::ClientIdentifier(vec![
                1, 0x52, 0x54, 0, 1, 1, 3
            ]))
        );
        assert_eq!(
            m.opts().get(OptionCode::Hostname),
            Some(&DhcpOption::Hostname("agent-1".into()))
        );
        assert_eq!(m.opts().msg_type(), Some(MessageType::Discover));
    }

    #[test]
    fn renewal_request_has_ciaddr_and_no_server_or_requested_ip() {
        let ip = Ipv4Addr::new(192, 168, 1, 3);
        let out = Outgoing {
            request: Request::Extend,
            xid: 9,
            secs: 0,
            ciaddr: Some(ip),
            requested: None,
            server: None,
        };
        let m = Message::from_bytes(&build(&identity(), &out).unwrap()).unwrap();
        assert_eq!(m.ciaddr(), ip);
        assert!(!m.flags().broadcast());
        assert_eq!(m.opts().msg_type(), Some(MessageType::Request));
        assert!(m.opts().get(OptionCode::ServerIdentifier).is_none());
        assert!(m.opts().get(OptionCode::RequestedIpAddress).is_none());
    }

    #[test]
    fn decline_names_the_address_and_server_only() {
        let ip = Ipv4Addr::new(192, 168, 1, 3);
        let out = Outgoing {
            request: Request::Decline,
            xid: 9,
            secs: 0,
            ciaddr: None,
            requested: Some(ip),
            server: Some(SERVER),
        };
        let m = Message::from_bytes(&build(&identity(), &out).unwrap()).unwrap();
        assert_eq!(m.opts().msg_type(), Some(MessageType::Decline));
        assert_eq!(
            m.opts().get(OptionCode::RequestedIpAddress),
            Some(&DhcpOption::RequestedIpAddress(ip))
        );
        assert_eq!(
            m.opts().get(OptionCode::ServerIdentifier),
            Some(&DhcpOption::ServerIdentifier(SERVER))
        );
        assert!(m.opts().get(OptionCode::Hostname).is_none());
        assert!(m.opts().get(OptionCode::ParameterRequestList).is_none());
    }

    #[test]
    fn ack_is_parsed_with_subnet_router_and_times() {
        let ip = Ipv4Addr::new(192, 168, 1, 3);
        let bytes = reply(
            MessageType::Ack,
            5,
            ip,
            &[
                DhcpOption::Router(vec![
                    Ipv4Addr::new(10, 0, 0, 1),
                    Ipv4Addr::new(192, 168, 1, 1),
                ]),
                DhcpOption::Renewal(5),
                DhcpOption::Rebinding(8),
            ],
        );
        let r = parse(&bytes).unwrap();
        assert_eq!(r.xid, 5);
        assert_eq!(r.server, SERVER);
        assert_eq!(
            r.kind,
            ReplyKind::Ack(Offer {
                address: "192.168.1.3/24".parse().unwrap(),
                // The off-subnet router is skipped.
                router: Some(Ipv4Addr::new(192, 168, 1, 1)),
                lease_secs: 120,
                t1_secs: Some(5),
                t2_secs: Some(8),
            })
        );
    }

    #[test]
    fn hostile_replies_are_dropped_with_a_reason() {
        let ip = Ipv4Addr::new(192, 168, 1, 3);
        assert_eq!(parse(&[]), Err(Dropped::Malformed));
        let mut req = reply(MessageType::Ack, 1, ip, &[]);
        req[0] = 1; // BOOTREQUEST
        assert_eq!(parse(&req), Err(Dropped::NotReply));
        let bcast = reply(MessageType::Offer, 1, Ipv4Addr::new(192, 168, 1, 255), &[]);
        assert_eq!(parse(&bcast), Err(Dropped::BadLease));
        let zero = reply(MessageType::Ack, 1, Ipv4Addr::new(224, 0, 0, 1), &[]);
        assert_eq!(parse(&zero), Err(Dropped::BadLease));
        let no_time = reply(MessageType::Ack, 1, ip, &[DhcpOption::AddressLeaseTime(0)]);
        assert_eq!(parse(&no_time), Err(Dropped::BadLease));
        let bad_mask = reply(
            MessageType::Ack,
            1,
            ip,
            &[DhcpOption::SubnetMask(Ipv4Addr::new(255, 0, 255, 0))],
        );
        assert_eq!(parse(&bad_mask), Err(Dropped::BadLease));
        let discover = reply(MessageType::Discover, 1, ip, &[]);
        assert_eq!(parse(&discover), Err(Dropped::BadType));
        let truncated = reply(MessageType::Ack, 1, ip, &[]);
        assert_eq!(parse(&truncated[..200]), Err(Dropped::Malformed));
        assert_eq!(
            parse(&truncated[..truncated.len() - 3]),
            Err(Dropped::Malformed)
        );
        // A client FQDN (81) of length 1 made dhcproto 0.14 assert; it is
        // stripped before decoding now, and the rest of the reply stands.
        let mut fqdn = reply(MessageType::Ack, 1, ip, &[]);
        let end = fqdn.len() - 1;
        assert_eq!(fqdn[end], 255);
        fqdn.splice(end..end, [81, 1, 0]);
        assert!(parse(&fqdn).is_ok());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse(&bytes);
        }

        /// A valid reply with bytes flipped: parses or drops, never panics.
        #[test]
        fn corrupted_replies_never_panic(
            flips in proptest::collection::vec((0usize..400, any::<u8>()), 1..20),
            cut in 0usize..400,
        ) {
            let mut bytes = reply(MessageType::Ack, 1, Ipv4Addr::new(192, 168, 1, 3), &[
                DhcpOption::Router(vec![Ipv4Addr::new(192, 168, 1, 1)]),
            ]);
            for (i, b) in flips {
                if let Some(x) = bytes.get_mut(i) { *x = b; }
            }
            let _ = parse(&bytes);
            bytes.truncate(cut);
            let _ = parse(&bytes);
        }
    }
}
