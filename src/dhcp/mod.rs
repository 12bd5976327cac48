//! n3xnetd's own DHCPv4 client, for links the profile puts on DHCP
//! (`mode = "dhcp"`: the cluster interface, with a reservation by MAC).
//!
//! Pure parts here: [`arp`] (probes for an offered address), [`packet`] (messages, via `dhcproto`), [`frame`]
//! (IPv4/UDP around them), [`client`] (the RFC 2131 state machine, driven
//! by a clock it is given), [`store`] (the lease file). The socket is in
//! [`socket`]; the daemon's driver, which installs leases through
//! [`crate::netlink`], is `daemon::dhcp`.

pub mod arp;
pub mod client;
pub mod frame;
pub mod packet;
pub mod socket;
pub mod store;

pub use client::{Action, Client, Destination, Lease, Millis};
pub use packet::{Dropped, Identity};
