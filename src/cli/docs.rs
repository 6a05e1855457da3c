//! `portsock completions SHELL` and `portsock man`: shell completion scripts (clap_complete)
//! and manual pages (clap_mangen), generated from the same command definition the parser
//! uses, so neither can drift from what the command accepts.

use std::path::PathBuf;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, CliError, Output};

#[derive(Debug, Args)]
pub(crate) struct CompletionsCmd {
    /// The shell to complete for; write the script where the shell reads completions, e.g.
    /// `portsock completions bash > ~/.local/share/bash-completion/completions/portsock`.
    #[arg(value_enum)]
    shell: Shell,
}

impl CompletionsCmd {
    pub(crate) fn run(self) -> Output {
        let mut cmd = Cli::command();
        let mut script = Vec::new();
        clap_complete::generate(self.shell, &mut cmd, "portsock", &mut script);
        String::from_utf8(script).map_err(|e| CliError::new("completions", e))
    }
}

#[derive(Debug, Args)]
pub(crate) struct ManCmd {
    /// Write portsock.1 and a page per subcommand (portsock-echo-server.1, ...) into this
    /// directory instead of printing portsock.1 on stdout.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

impl ManCmd {
    pub(crate) fn run(self) -> Output {
        let cmd = Cli::command();
        match self.out_dir {
            Some(dir) => {
                if !dir.is_dir() {
                    return Err(CliError::new(
                        format_args!("--out-dir {}", dir.display()),
                        "expected an existing directory",
                    ));
                }
                clap_mangen::generate_to(cmd, &dir)
                    .map_err(|e| CliError::new(format_args!("--out-dir {}", dir.display()), e))?;
                Ok(String::new())
            }
            None => {
                let mut page = Vec::new();
                clap_mangen::Man::new(cmd)
                    .render(&mut page)
                    .map_err(|e| CliError::new("man", e))?;
                String::from_utf8(page).map_err(|e| CliError::new("man", e))
            }
        }
    }
}
