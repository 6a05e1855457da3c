//! Where `struct unpack` gets its bytes (an argument, `--file`, or stdin; hex in any pasted form
//! or `--raw`), and raw bytes out to stdout.

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::Path;

use super::super::CliError;
use super::super::hexin;

/// The bytes to unpack and how to name them in an error (`bytes "01 0g"`, `file "x.bin"`,
/// `stdin`).
pub(crate) struct Input {
    pub(crate) bytes: Vec<u8>,
    pub(crate) name: String,
}

/// Reads the bytes from `arg`, else from `file`, else from stdin; decodes hex unless `raw`.
pub(crate) fn read(arg: Option<&str>, file: Option<&Path>, raw: bool) -> Result<Input, CliError> {
    let (data, name) = match (arg, file) {
        (Some(text), _) => (text.as_bytes().to_vec(), format!("bytes {text:?}")),
        (None, Some(path)) => {
            let name = format!("file {:?}", path.display().to_string());
            let data = std::fs::read(path).map_err(|e| CliError::new(&name, e))?;
            (data, name)
        }
        (None, None) => {
            let mut stdin = std::io::stdin().lock();
            if stdin.is_terminal() {
                return Err(CliError::new(
                    "bytes",
                    "none given: pass them as an argument, with --file PATH, or on stdin",
                ));
            }
            let mut data = Vec::new();
            stdin
                .read_to_end(&mut data)
                .map_err(|e| CliError::new("stdin", e))?;
            (data, "stdin".to_owned())
        }
    };
    if raw {
        return Ok(Input { bytes: data, name });
    }
    let text = std::str::from_utf8(&data).map_err(|e| {
        CliError::new(
            &name,
            format_args!(
                "byte {} is not text, so not hex (give --raw for binary input)",
                e.valid_up_to()
            ),
        )
    })?;
    let bytes = hexin::decode(text).map_err(|e| CliError::new(&name, e))?;
    Ok(Input { bytes, name })
}

/// Writes `bytes` to stdout; a reader that has gone away (`| head`) is not an error.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::new("stdout", e)),
        _ => Ok(()),
    }
}
