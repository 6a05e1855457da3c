//! `portsock inet ...`: `socket.inet_aton/ntoa/pton/ntop` with glibc's exact rules.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt as _;

use clap::{Args, Subcommand, ValueEnum};
use portsock_core::wire::inet::{self, Family};
use serde_json::json;

use super::hexin::{decode as decode_hex, encode as encode_hex};
use super::{CliError, Output};

/// `portsock inet [--json] ...`.
#[derive(Debug, Args)]
pub(crate) struct InetArgs {
    #[command(subcommand)]
    cmd: InetCmd,
    /// Print one JSON object (`input`, and `hex` or `address`) instead of the bare result.
    #[arg(long, global = true)]
    json: bool,
}

impl InetArgs {
    pub(crate) fn run(self) -> Output {
        let (input, key) = self.cmd.input();
        let text = self.cmd.run()?;
        if !self.json {
            return Ok(text);
        }
        Ok(format!(
            "{}\n",
            json!({ "input": input, key: text.trim_end() })
        ))
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum InetCmd {
    /// IPv4 text in any legacy form (127.1, 0x7f.1, 017.0.0.1, 2130706433) -> 4 bytes as hex.
    Aton {
        /// The address text.
        #[arg(allow_hyphen_values = true)]
        addr: OsString,
    },
    /// 4 bytes as hex -> dotted quad.
    Ntoa {
        /// Exactly 8 hex digits.
        hex: String,
    },
    /// Strict text -> packed bytes as hex (4 for inet, 16 for inet6).
    Pton {
        /// Address family.
        family: FamilyArg,
        /// The address text.
        #[arg(allow_hyphen_values = true)]
        addr: OsString,
    },
    /// Packed bytes as hex -> text, as glibc's inet_ntop prints it.
    Ntop {
        /// Address family.
        family: FamilyArg,
        /// 8 (inet) or 32 (inet6) hex digits.
        hex: String,
    },
}

/// `inet` or `inet6`, as `socket.AF_INET` / `socket.AF_INET6`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum FamilyArg {
    /// AF_INET (IPv4).
    Inet,
    /// AF_INET6 (IPv6).
    Inet6,
}

impl From<FamilyArg> for Family {
    fn from(f: FamilyArg) -> Self {
        match f {
            FamilyArg::Inet => Self::Inet,
            FamilyArg::Inet6 => Self::Inet6,
        }
    }
}

impl InetCmd {
    /// The argument converted, as given, and the JSON name of the result.
    fn input(&self) -> (String, &'static str) {
        match self {
            Self::Aton { addr } | Self::Pton { addr, .. } => {
                (addr.to_string_lossy().into_owned(), "hex")
            }
            Self::Ntoa { hex } | Self::Ntop { hex, .. } => (hex.clone(), "address"),
        }
    }

    pub(crate) fn run(self) -> Output {
        match self {
            Self::Aton { addr } => {
                let ip = inet::inet_aton(addr.as_bytes()).map_err(|e| bad_text(&addr, e))?;
                Ok(format!("{}\n", encode_hex(&ip.octets())))
            }
            Self::Ntoa { hex } => {
                let bytes = hex_arg(&hex)?;
                let text = inet::inet_ntoa(&bytes)
                    .map_err(|e| CliError::new(format_args!("bytes {hex:?}"), e))?;
                Ok(format!("{text}\n"))
            }
            Self::Pton { family, addr } => {
                let ip = inet::inet_pton(family.into(), addr.as_bytes())
                    .map_err(|e| bad_text(&addr, e))?;
                let bytes = match ip {
                    std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
                    std::net::IpAddr::V6(v6) => v6.octets().to_vec(),
                };
                Ok(format!("{}\n", encode_hex(&bytes)))
            }
            Self::Ntop { family, hex } => {
                let bytes = hex_arg(&hex)?;
                let text = inet::inet_ntop(family.into(), &bytes)
                    .map_err(|e| CliError::new(format_args!("bytes {hex:?}"), e))?;
                Ok(format!("{text}\n"))
            }
        }
    }
}

fn hex_arg(hex: &str) -> Result<Vec<u8>, CliError> {
    decode_hex(hex).map_err(|e| CliError::new(format_args!("bytes {hex:?}"), e))
}

fn bad_text(addr: &OsString, err: impl std::fmt::Display) -> CliError {
    CliError::new(format_args!("address {:?}", addr.to_string_lossy()), err)
}
