//! ARP probes for an acknowledged address (RFC 2131 4.4.1, in the manner
//! of RFC 5227): "who has ADDR?" from 0.0.0.0, and the reading of any ARP
//! packet that shows another host holding, or also probing, the address.
//! The Ethernet header is the packet socket's (`SOCK_DGRAM`).

use std::net::Ipv4Addr;

use crate::mac::MacAddr;

pub const ETH_P_ARP: u16 = 0x0806;
const LEN: usize = 28;
const REQUEST: u16 = 1;
const REPLY: u16 = 2;

/// The probe for `ip` from `mac`: sender address 0.0.0.0, so no host's
/// ARP cache learns anything from it.
pub fn probe(mac: [u8; 6], ip: Ipv4Addr) -> Vec<u8> {
    let mut p = Vec::with_capacity(LEN);
    p.extend_from_slice(&1u16.to_be_bytes()); // Ethernet
    p.extend_from_slice(&0x0800u16.to_be_bytes()); // IPv4
    p.extend_from_slice(&[6, 4]);
    p.extend_from_slice(&REQUEST.to_be_bytes());
    p.extend_from_slice(&mac);
    p.extend_from_slice(&[0; 4]);
    p.extend_from_slice(&[0; 6]);
    p.extend_from_slice(&ip.octets());
    p
}

/// The host that `packet` shows holding `ip` (its reply or announcement),
/// or probing for it too; never ourselves (`mac`). Anything else, however
/// malformed, is `None`.
pub fn holder(packet: &[u8], mac: [u8; 6], ip: Ipv4Addr) -> Option<MacAddr> {
    let p = packet.get(..LEN)?;
    if p[..6] != [0, 1, 8, 0, 6, 4] {
        return None;
    }
    let op = u16::from_be_bytes([p[6], p[7]]);
    let sender_mac: [u8; 6] = p[8..14].try_into().ok()?;
    let sender_ip = Ipv4Addr::new(p[14], p[15], p[16], p[17]);
    let target_ip = Ipv4Addr::new(p[24], p[25], p[26], p[27]);
    if sender_mac == mac || !(op == REQUEST || op == REPLY) {
        return None;
    }
    let holds = sender_ip == ip;
    let probes = op == REQUEST && sender_ip.is_unspecified() && target_ip == ip;
    (holds || probes).then_some(MacAddr(sender_mac))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OURS: [u8; 6] = [0x52, 0x54, 0, 1, 1, 3];
    const OTHER: [u8; 6] = [2, 0, 0, 0, 0, 9];
    const IP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 3);

    fn packet(op: u16, sender: [u8; 6], sip: Ipv4Addr, tip: Ipv4Addr) -> Vec<u8> {
        let mut p = probe(sender, tip);
        p[6..8].copy_from_slice(&op.to_be_bytes());
        p[14..18].copy_from_slice(&sip.octets());
        p
    }

    #[test]
    fn replies_announcements_and_other_probes_show_a_holder() {
        let any = Ipv4Addr::new(192, 168, 1, 254);
        let zero = Ipv4Addr::UNSPECIFIED;
        // A reply to our probe.
        assert_eq!(
            holder(&packet(REPLY, OTHER, IP, zero), OURS, IP),
            Some(MacAddr(OTHER))
        );
        // A gratuitous announcement, another prober.
        assert!(holder(&packet(REQUEST, OTHER, IP, IP), OURS, IP).is_some());
        assert!(holder(&packet(REQUEST, OTHER, zero, IP), OURS, IP).is_some());
        // Someone asking for the address from their own: no claim.
        assert!(holder(&packet(REQUEST, OTHER, any, IP), OURS, IP).is_none());
        // Our own probe, looped back; other addresses; junk.
        assert!(holder(&probe(OURS, IP), OURS, IP).is_none());
        assert!(holder(&packet(REPLY, OTHER, any, zero), OURS, IP).is_none());
        assert!(holder(&packet(3, OTHER, IP, zero), OURS, IP).is_none());
        assert!(holder(&probe(OTHER, IP)[..27], OURS, IP).is_none());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = holder(&bytes, OURS, IP);
        }
    }
}
