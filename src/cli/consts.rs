//! `portsock constants PREFIX`: the chapter's `get_constants(prefix)`, value -> name.

use clap::Args;
use portsock_core::table::consts::{self, Constant};

use super::{CliError, Output};

#[derive(Debug, Args)]
pub(crate) struct ConstantsCmd {
    /// `AF_`, `SOCK_` or `IPPROTO_`.
    prefix: String,
    /// Use the built-in Linux numbers instead of this host's libc values.
    #[arg(long)]
    builtin: bool,
    /// Print one JSON array of `{"value": N, "name": NAME}` objects instead.
    #[arg(long)]
    json: bool,
}

impl ConstantsCmd {
    pub(crate) fn run(self) -> Output {
        let table: &[Constant] = match self.prefix.as_str() {
            "AF_" | "AF" => consts::AF,
            "SOCK_" | "SOCK" => consts::SOCK,
            "IPPROTO_" | "IPPROTO" => consts::IPPROTO,
            other => {
                return Err(CliError::new(
                    format_args!("prefix {other:?}"),
                    "expected one of AF_, SOCK_, IPPROTO_",
                ));
            }
        };
        let host = |c: Constant| {
            if self.builtin {
                c
            } else {
                portsock_std::consts::on_host(c)
            }
        };
        // As Python's dict comprehension over dir(): the last name (alphabetically) wins a value.
        let mut by_value: std::collections::BTreeMap<i32, &str> = std::collections::BTreeMap::new();
        let mut named: Vec<Constant> = table.iter().copied().map(host).collect();
        named.sort_by_key(|c| c.name);
        for c in named {
            by_value.insert(c.value, c.name);
        }
        if self.json {
            let items: Vec<_> = by_value
                .iter()
                .map(|(v, n)| serde_json::json!({ "value": v, "name": n }))
                .collect();
            return Ok(format!("{}\n", serde_json::Value::Array(items)));
        }
        Ok(by_value
            .iter()
            .map(|(v, n)| format!("{v:>4} {n}\n"))
            .collect())
    }
}
