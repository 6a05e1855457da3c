//! # portsock-std
//!
//! portsock's backend on the host's OS sockets, through [`socket2`], and its system resolver.
//! For now it holds the host's view of the socket constants; the transports arrive with the
//! echo/transport work.
#![deny(unsafe_code)]

pub mod consts;
