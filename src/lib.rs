#![doc = include_str!("../README.md")]
//!
//! ## This crate
//!
//! The facade: re-exports [`portsock_core`] as [`core`] (the `no_std` codecs, tables and protocol
//! machines) and the backends its features enable — [`portsock_std`] as `std` (feature `std`,
//! default: OS sockets through socket2, and their tokio versions in `std::tokio`; feature
//! `tokio` alone gives `std` with those) with [`portsock_server`] as `server` (the event-driven
//! server for thousands of clients, on portsock-std), and `portsock_smoltcp` as `smoltcp`
//! (feature `smoltcp`).
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(
    feature = "document-features",
    doc = concat!("\n## Feature flags\n\n", document_features::document_features!())
)]

pub use portsock_core as core;
#[cfg(feature = "embassy")]
pub use portsock_embassy as embassy;
#[cfg(feature = "std")]
pub use portsock_server as server;
#[cfg(feature = "smoltcp")]
pub use portsock_smoltcp as smoltcp;
#[cfg(any(feature = "std", feature = "tokio"))]
pub use portsock_std as std;

/// A guide, not an API: one `EchoSession` under the blocking driver, the mio server, tokio,
/// any edge-nal stack and embassy-net (`docs/one-session.md`; its examples are compiled as doc tests).
#[cfg(feature = "std")]
#[doc = include_str!("../docs/one-session.md")]
pub mod one_session {}
