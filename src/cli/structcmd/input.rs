//! Where `struct unpack` gets its bytes (an argument, `--file`, or stdin; hex in any pasted form
//! or `--raw`), and raw bytes out to stdout.

use std::borrow::Cow;
use std::fs::File;
use std::io::{IsTerminal as _, Read as _, Seek as _, SeekFrom, Write as _};
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

/// A regular file of raw bytes (`--raw --file` with `--iter`), read a chunk at a time.
pub(crate) struct RawFile {
    file: File,
    /// Its length when opened.
    pub(crate) len: u64,
    /// `file "x.bin"`.
    pub(crate) name: String,
}

impl RawFile {
    /// Opens `path`: a regular file, or else (a pipe, a device) the file to read as a stream.
    pub(crate) fn open(path: &Path) -> Result<Result<Self, File>, CliError> {
        let name = format!("file {:?}", path.display().to_string());
        let file = File::open(path).map_err(|e| CliError::new(&name, e))?;
        let meta = file.metadata().map_err(|e| CliError::new(&name, e))?;
        if !meta.is_file() {
            return Ok(Err(file));
        }
        Ok(Ok(Self {
            file,
            len: meta.len(),
            name,
        }))
    }

    /// From byte `start`, chunks of `chunk` bytes (the last one shorter), each a whole number
    /// of `size`-byte records; an error if the file ends inside a record (it changed length
    /// after the caller checked it).
    pub(crate) fn chunks<'d>(
        mut self,
        start: u64,
        chunk: usize,
        size: usize,
    ) -> Result<impl Iterator<Item = super::ordered::Chunk<'d>> + Send + use<'d>, CliError> {
        let name = self.name;
        self.file
            .seek(SeekFrom::Start(start))
            .map_err(|e| CliError::new(&name, e))?;
        let file = self.file;
        let mut done = false;
        Ok(std::iter::from_fn(move || {
            if done {
                return None;
            }
            let mut buf = Vec::with_capacity(chunk);
            let read = (&file).take(chunk as u64).read_to_end(&mut buf);
            match read {
                Ok(0) => None,
                Ok(n) if n % size.max(1) == 0 => Some(Ok(Cow::Owned(buf))),
                Ok(_) => {
                    done = true;
                    let what = "changed while being read: it now ends inside a record";
                    Some(Err(CliError::new(&name, what)))
                }
                Err(e) => {
                    done = true;
                    Some(Err(CliError::new(&name, e)))
                }
            }
        }))
    }
}

/// Writes `bytes` to stdout; a reader that has gone away (`| head`) is not an error.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::new("stdout", e)),
        _ => Ok(()),
    }
}
