//! Reading the kernel's verdict on a request: `NLMSG_ERROR` (ack or errno)
//! and `NLMSG_DONE` of a dump, with the extended-ack message.
//!
//! The sockets are opened with `NETLINK_EXT_ACK` (the kernel explains its
//! refusals) and `NETLINK_CAP_ACK` (errors echo only the request's header,
//! not the whole request). netlink-packet-core hands the bytes after the
//! errno over unparsed, so the TLVs are read here.

use netlink_packet_core::{DoneMessage, ErrorMessage, NLM_F_ACK_TLVS, NLM_F_CAPPED};

use super::error::KernelError;

/// `NLMSGERR_ATTR_MSG`: the human-readable reason.
const NLMSGERR_ATTR_MSG: u16 = 1;
const NLMSG_HDRLEN: usize = 16;
const NLA_HDRLEN: usize = 4;
const NLA_TYPE_MASK: u16 = 0x3fff;

/// The refusal carried by an `NLMSG_ERROR` reply whose outer header has
/// `flags`; `None` when the reply is a plain ack.
pub(crate) fn error_reply(flags: u16, reply: &ErrorMessage) -> Option<KernelError> {
    let code = reply.code?;
    let message = if flags & NLM_F_ACK_TLVS != 0 {
        let request_len = if flags & NLM_F_CAPPED != 0 {
            NLMSG_HDRLEN
        } else {
            reply
                .header
                .get(0..4)
                .and_then(|b| b.try_into().ok())
                .map_or(NLMSG_HDRLEN, |b| u32::from_ne_bytes(b) as usize)
        };
        reply
            .header
            .get(align(request_len)..)
            .and_then(extack_message)
    } else {
        None
    };
    Some(KernelError::new(code.get(), message))
}

/// The error a dump ended with (`NLMSG_DONE` with a negative code).
pub(crate) fn done_reply(flags: u16, done: &DoneMessage) -> Option<KernelError> {
    if done.code == 0 {
        return None;
    }
    let message = if flags & NLM_F_ACK_TLVS != 0 {
        extack_message(&done.extended_ack)
    } else {
        None
    };
    Some(KernelError::new(done.code, message))
}

/// `NLMSGERR_ATTR_MSG` among the extended-ack TLVs.
fn extack_message(mut tlvs: &[u8]) -> Option<String> {
    while tlvs.len() >= NLA_HDRLEN {
        let len = usize::from(u16::from_ne_bytes([tlvs[0], tlvs[1]]));
        let kind = u16::from_ne_bytes([tlvs[2], tlvs[3]]) & NLA_TYPE_MASK;
        let value = tlvs.get(NLA_HDRLEN..len)?;
        if kind == NLMSGERR_ATTR_MSG {
            let text = value.split(|b| *b == 0).next().unwrap_or_default();
            let text = String::from_utf8_lossy(text).trim().to_owned();
            return (!text.is_empty()).then_some(text);
        }
        tlvs = tlvs.get(align(len)..).unwrap_or_default();
    }
    None
}

fn align(len: usize) -> usize {
    (len + 3) & !3
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroI32;

    fn tlv(kind: u16, value: &[u8]) -> Vec<u8> {
        let len = (NLA_HDRLEN + value.len()) as u16;
        let mut out = Vec::new();
        out.extend_from_slice(&len.to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(value);
        out.resize(align(out.len()), 0);
        out
    }

    fn error(code: i32, payload: Vec<u8>) -> ErrorMessage {
        let mut e = ErrorMessage::default();
        e.code = NonZeroI32::new(code);
        e.header = payload;
        e
    }

    #[test]
    fn ack_is_not_an_error() {
        assert_eq!(error_reply(0, &error(0, vec![0; 16])), None);
    }

    #[test]
    fn capped_error_with_message() {
        let mut payload = vec![0u8; NLMSG_HDRLEN];
        // An offset TLV before the message must be skipped.
        payload.extend(tlv(2, &40u32.to_ne_bytes()));
        payload.extend(tlv(NLMSGERR_ATTR_MSG, b"Nexthop has invalid gateway\0"));
        let e = error_reply(NLM_F_CAPPED | NLM_F_ACK_TLVS, &error(-101, payload)).unwrap();
        assert_eq!(e.errno, 101);
        assert_eq!(e.message.as_deref(), Some("Nexthop has invalid gateway"));
        assert_eq!(
            e.to_string(),
            "ENETUNREACH: Network is unreachable (kernel: Nexthop has invalid gateway)"
        );
    }

    #[test]
    fn uncapped_error_skips_the_echoed_request() {
        let mut payload = 22u32.to_ne_bytes().to_vec();
        payload.resize(24, 0xaa); // 22-byte request, padded to 24
        payload.extend(tlv(NLMSGERR_ATTR_MSG, b"Unknown device type\0"));
        let e = error_reply(NLM_F_ACK_TLVS, &error(-95, payload)).unwrap();
        assert_eq!(e.message.as_deref(), Some("Unknown device type"));
    }

    #[test]
    fn truncated_tlvs_give_no_message_and_no_panic() {
        let mut payload = vec![0u8; NLMSG_HDRLEN];
        payload.extend_from_slice(&[200, 0, 1, 0, b'x']);
        let e = error_reply(NLM_F_CAPPED | NLM_F_ACK_TLVS, &error(-22, payload)).unwrap();
        assert_eq!(e, KernelError::new(22, None));
    }

    #[test]
    fn eperm_without_message_names_the_capability() {
        let e = KernelError::new(-1, None);
        assert!(e.to_string().contains("CAP_NET_ADMIN"), "{e}");
    }

    #[test]
    fn dump_done_with_error() {
        let mut done = DoneMessage::default();
        done.code = -16;
        done.extended_ack = tlv(NLMSGERR_ATTR_MSG, b"busy\0");
        let e = done_reply(NLM_F_ACK_TLVS, &done).unwrap();
        assert_eq!((e.errno, e.message.as_deref()), (16, Some("busy")));
        assert_eq!(done_reply(0, &DoneMessage::default()), None);
    }
}
