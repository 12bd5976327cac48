//! The packet sockets a DHCP client talks through: `AF_PACKET`,
//! `SOCK_DGRAM` (the kernel handles the Ethernet header), bound to one
//! link. The DHCP one has a classic BPF filter so only UDP to port 68
//! wakes us up; the ARP one exists only while an address is probed.
//! A packet socket works before the link has an address, which a UDP
//! socket would need to receive broadcast replies reliably.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::arp::ETH_P_ARP;
use super::packet::CLIENT_PORT;

const ETH_P_IP: u16 = 0x0800;
const BROADCAST_MAC: [u8; 6] = [0xff; 6];

/// What a packet socket carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// IPv4, filtered down to UDP datagrams to port 68.
    Dhcp,
    Arp,
}

impl Protocol {
    fn ethertype(self) -> u16 {
        match self {
            Protocol::Dhcp => ETH_P_IP,
            Protocol::Arp => ETH_P_ARP,
        }
    }
}

/// A packet socket bound to one link.
#[derive(Debug)]
pub struct PacketSocket {
    fd: AsyncFd<OwnedFd>,
    ifindex: i32,
    ethertype: u16,
}

/// Opens a `protocol` socket on `ifindex` in the calling thread's network
/// namespace (the daemon calls it inside the supervised one). Not yet
/// registered with the runtime: see [`PacketSocket::register`].
pub fn open(ifindex: u32, protocol: Protocol) -> io::Result<OwnedFd> {
    let ethertype = protocol.ethertype();
    let ifindex = i32::try_from(ifindex).map_err(io::Error::other)?;
    // SAFETY: plain socket(2); the result is checked before use.
    let raw = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            i32::from(ethertype.to_be()),
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    if protocol == Protocol::Dhcp {
        attach_filter(&fd)?;
    }
    let addr = link_address(ifindex, ethertype, [0; 6]);
    // SAFETY: `addr` is a valid sockaddr_ll of the size given.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_ll).cast(),
            mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

impl PacketSocket {
    /// Registers a socket from [`open`] with the current tokio runtime.
    pub fn register(fd: OwnedFd, ifindex: u32, protocol: Protocol) -> io::Result<PacketSocket> {
        // SAFETY: the OwnedFd moves into the AsyncFd, which keeps it open
        // and unchanged until it is dropped.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(PacketSocket {
            fd,
            ifindex: i32::try_from(ifindex).map_err(io::Error::other)?,
            ethertype: protocol.ethertype(),
        })
    }

    /// The next packet (from its network header on) and the hardware
    /// address it came from.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, [u8; 6])> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| recv_from(fd.get_ref().as_raw_fd(), buf)) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }

    /// Sends a packet to `mac` (`None`: Ethernet broadcast). Does not
    /// wait: a full send queue is an error like any other, and the state
    /// machine's retransmission covers it.
    pub fn send(&self, packet: &[u8], mac: Option<[u8; 6]>) -> io::Result<()> {
        let addr = link_address(self.ifindex, self.ethertype, mac.unwrap_or(BROADCAST_MAC));
        // SAFETY: `packet` and `addr` are valid for the sizes given.
        let rc = unsafe {
            libc::sendto(
                self.fd.get_ref().as_raw_fd(),
                packet.as_ptr().cast(),
                packet.len(),
                libc::MSG_DONTWAIT,
                (&addr as *const libc::sockaddr_ll).cast(),
                mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

fn link_address(ifindex: i32, ethertype: u16, mac: [u8; 6]) -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is plain old data; all zeroes is valid.
    let mut a: libc::sockaddr_ll = unsafe { mem::zeroed() };
    a.sll_family = libc::AF_PACKET as u16;
    a.sll_protocol = ethertype.to_be();
    a.sll_ifindex = ifindex;
    a.sll_halen = 6;
    a.sll_addr[..6].copy_from_slice(&mac);
    a
}

fn recv_from(fd: i32, buf: &mut [u8]) -> io::Result<(usize, [u8; 6])> {
    // SAFETY: as in link_address.
    let mut from: libc::sockaddr_ll = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: `buf` and `from` are valid for the sizes given.
    let n = unsafe {
        libc::recvfrom(
            fd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
            (&mut from as *mut libc::sockaddr_ll).cast(),
            &mut len,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&from.sll_addr[..6]);
    Ok((n as usize, mac))
}

/// Keeps only unfragmented IPv4 UDP datagrams to port 68. Offsets are
/// from the IP header (a `SOCK_DGRAM` packet socket has no link header).
fn attach_filter(fd: &OwnedFd) -> io::Result<()> {
    const LD_B_ABS: u16 = 0x30; // BPF_LD | BPF_B | BPF_ABS
    const LD_H_ABS: u16 = 0x28; // BPF_LD | BPF_H | BPF_ABS
    const LDX_MSH: u16 = 0xb1; // BPF_LDX | BPF_B | BPF_MSH
    const LD_H_IND: u16 = 0x48; // BPF_LD | BPF_H | BPF_IND
    const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const JSET: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
    const RET: u16 = 0x06; // BPF_RET | BPF_K
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let program = [
        op(LD_B_ABS, 0, 0, 9),                 // protocol
        op(JEQ, 0, 5, 17),                     // UDP, else drop
        op(LD_H_ABS, 0, 0, 6),                 // flags + fragment offset
        op(JSET, 3, 0, 0x1fff),                // a fragment: drop
        op(LDX_MSH, 0, 0, 0),                  // x = IP header length
        op(LD_H_IND, 0, 0, 2),                 // UDP destination port
        op(JEQ, 0, 1, u32::from(CLIENT_PORT)), // 68, else drop
        op(RET, 0, 0, 0xffff),                 // accept
        op(RET, 0, 0, 0),                      // drop
    ];
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `program`, alive for the call; the kernel
    // copies it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&prog as *const libc::sock_fprog).cast(),
            mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
