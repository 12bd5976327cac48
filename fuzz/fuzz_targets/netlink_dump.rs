//! The netlink dump parser: RTM_NEWLINK/NEWADDR/NEWROUTE replies, back to
//! back as the kernel sends them, into n3xnet's kernel state.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = n3xnet::netlink::state_from_dump_bytes(bytes);
});
