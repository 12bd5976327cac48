//! IPv4/UDP around DHCP messages. The client talks through a packet
//! socket (it has no address to bind a UDP socket to until it is bound),
//! so it writes and checks the IP and UDP headers itself.

use std::net::Ipv4Addr;

use super::packet::{Dropped, CLIENT_PORT, SERVER_PORT};

const IP_HEADER: usize = 20;
const UDP_HEADER: usize = 8;
const UDP: u8 = 17;
/// The usual default TTL (RFC 1700); a relay on the link forwards it.
const TTL: u8 = 64;

/// An IPv4 datagram from port 68 at `src` to port 67 at `dst`, carrying
/// `payload`, checksummed.
pub fn wrap(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let total = IP_HEADER + UDP_HEADER + payload.len();
    let mut p = Vec::with_capacity(total);
    p.extend_from_slice(&[0x45, 0]);
    p.extend_from_slice(&(total as u16).to_be_bytes());
    // Identification 0, don't fragment.
    p.extend_from_slice(&[0, 0, 0x40, 0, TTL, UDP, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    let sum = checksum(&[&p[..IP_HEADER]]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());

    let udp_len = (UDP_HEADER + payload.len()) as u16;
    p.extend_from_slice(&CLIENT_PORT.to_be_bytes());
    p.extend_from_slice(&SERVER_PORT.to_be_bytes());
    p.extend_from_slice(&udp_len.to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&[0, UDP]);
    pseudo.extend_from_slice(&udp_len.to_be_bytes());
    let sum = match checksum(&[&pseudo, &p[IP_HEADER..]]) {
        // 0 means "no checksum" in UDP; all ones is the same sum.
        0 => 0xffff,
        s => s,
    };
    p[IP_HEADER + 6..IP_HEADER + 8].copy_from_slice(&sum.to_be_bytes());
    p
}

/// The DHCP payload of an IPv4 datagram from port 67 to port 68, or why
/// it is not one. Fragments are refused: DHCP replies fit one frame.
pub fn unwrap(packet: &[u8]) -> Result<&[u8], Dropped> {
    let header = packet.get(..IP_HEADER).ok_or(Dropped::NotDhcp)?;
    let ihl = usize::from(header[0] & 0x0f) * 4;
    if header[0] >> 4 != 4 || ihl < IP_HEADER || header[9] != UDP {
        return Err(Dropped::NotDhcp);
    }
    let fragment = u16::from_be_bytes([header[6], header[7]]) & 0x3fff;
    let total = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if fragment != 0 || total < ihl + UDP_HEADER || total > packet.len() {
        return Err(Dropped::NotDhcp);
    }
    if checksum(&[&packet[..ihl]]) != 0 {
        return Err(Dropped::NotDhcp);
    }
    let udp = &packet[ihl..total];
    let port = |i: usize| u16::from_be_bytes([udp[i], udp[i + 1]]);
    let len = usize::from(port(4));
    if port(0) != SERVER_PORT || port(2) != CLIENT_PORT || len < UDP_HEADER || len > udp.len() {
        return Err(Dropped::NotDhcp);
    }
    Ok(&udp[UDP_HEADER..len])
}

/// The Internet checksum (RFC 1071) over the concatenated parts.
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for b in parts.iter().flat_map(|p| p.iter().copied()) {
        match odd.take() {
            Some(hi) => sum += u32::from(u16::from_be_bytes([hi, b])),
            None => odd = Some(b),
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(u16::from_be_bytes([hi, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A server's datagram: our client frame with the ports swapped.
    fn from_server(payload: &[u8]) -> Vec<u8> {
        let mut p = wrap(
            Ipv4Addr::new(192, 168, 1, 254),
            Ipv4Addr::BROADCAST,
            payload,
        );
        p[20..22].copy_from_slice(&SERVER_PORT.to_be_bytes());
        p[22..24].copy_from_slice(&CLIENT_PORT.to_be_bytes());
        p
    }

    #[test]
    fn wrapped_datagram_has_valid_checksums() {
        let p = wrap(Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST, b"hello");
        assert_eq!(p.len(), 33);
        assert_eq!(checksum(&[&p[..20]]), 0);
        let mut pseudo = vec![0, 0, 0, 0, 255, 255, 255, 255, 0, 17, 0, 13];
        pseudo.extend_from_slice(&p[20..]);
        assert_eq!(checksum(&[&pseudo]), 0);
    }

    #[test]
    fn unwrap_checks_ports_fragments_and_lengths() {
        let p = from_server(b"dhcp");
        assert_eq!(unwrap(&p), Ok(&b"dhcp"[..]));
        // Our own broadcast, looped back: wrong direction.
        let own = wrap(Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST, b"dhcp");
        assert_eq!(unwrap(&own), Err(Dropped::NotDhcp));
        let mut frag = p.clone();
        frag[6] = 0x20; // more fragments
        assert_eq!(unwrap(&frag), Err(Dropped::NotDhcp));
        assert_eq!(unwrap(&p[..25]), Err(Dropped::NotDhcp));
        let mut bad = p.clone();
        bad[8] = 1; // TTL changed, checksum stale
        assert_eq!(unwrap(&bad), Err(Dropped::NotDhcp));
        // Trailing Ethernet padding beyond the IP length is ignored.
        let mut padded = p.clone();
        padded.extend_from_slice(&[0; 10]);
        assert_eq!(unwrap(&padded), Ok(&b"dhcp"[..]));
    }

    proptest! {
        #[test]
        fn arbitrary_packets_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = unwrap(&bytes);
        }

        #[test]
        fn any_payload_round_trips(payload in proptest::collection::vec(any::<u8>(), 0..600)) {
            let p = from_server(&payload);
            prop_assert_eq!(unwrap(&p), Ok(&payload[..]));
        }
    }
}
