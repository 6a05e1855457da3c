//! Built-in tables for targets without `/etc/services`, `/etc/protocols` or a libc: socket
//! constants with their names both ways, well-known services and protocol numbers.

pub mod consts;
pub mod protocols;
pub mod services;
