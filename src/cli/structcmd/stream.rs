//! `--raw --iter` from stdin, a pipe or a device: the bytes read as they come and handed on
//! as whole records, so that a capture of any length (`tcpdump -w - | portsock struct unpack
//! --raw --iter ...`) is printed while it arrives, in bounded memory.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, IsTerminal as _, Read};
use std::path::Path;

use super::super::CliError;
use super::ordered::Chunk;

/// Raw bytes read as they come: stdin, or a `--file` that is not a regular file.
pub(crate) struct RawStream {
    reader: Box<dyn Read + Send>,
    /// `stdin`, `file "/dev/stdin"`.
    pub(crate) name: String,
}

/// Why the stream stopped inside a record: how many bytes came after `--offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EndedInsideRecord {
    pub(crate) got: usize,
}

impl RawStream {
    /// Stdin, refused when it is a terminal (nothing would end the records).
    pub(crate) fn stdin() -> Result<Self, CliError> {
        let stdin = io::stdin();
        if stdin.is_terminal() {
            return Err(CliError::new(
                "bytes",
                "none given: pass them as an argument, with --file PATH, or on stdin",
            ));
        }
        Ok(Self {
            reader: Box::new(stdin),
            name: "stdin".to_owned(),
        })
    }

    /// An opened file that is not a regular one (a FIFO, a device, `/dev/stdin`).
    pub(crate) fn file(path: &Path, file: File) -> Self {
        Self {
            reader: Box::new(file),
            name: format!("file {:?}", path.display().to_string()),
        }
    }

    /// After skipping `start` bytes, chunks of whole `size`-byte records, each at most about
    /// `chunk` bytes and handed on as soon as a read completes one record. `ended` is called
    /// once at the end with the bytes after `start` if the last record was cut short, and
    /// makes the error that ends the chunks; an end before `start` is `past_the_end`'s error.
    pub(crate) fn chunks<'d, E, P>(
        self,
        start: usize,
        chunk: usize,
        size: usize,
        ended: E,
        past_the_end: P,
    ) -> impl Iterator<Item = Chunk<'d>> + Send + use<'d, E, P>
    where
        E: Fn(EndedInsideRecord) -> CliError + Send,
        P: Fn(&str, usize, u64) -> CliError + Send,
    {
        let Self { mut reader, name } = self;
        let size = size.max(1);
        let chunk = chunk.max(size);
        let mut skipped = false;
        let mut carry: Vec<u8> = Vec::new();
        let mut total = 0usize;
        let mut done = false;
        std::iter::from_fn(move || {
            if done {
                return None;
            }
            if !skipped {
                skipped = true;
                match io::copy(&mut (&mut reader).take(start as u64), &mut io::sink()) {
                    Ok(n) if n == start as u64 => {}
                    Ok(n) => {
                        done = true;
                        return Some(Err(past_the_end(&name, start, n)));
                    }
                    Err(e) => {
                        done = true;
                        return Some(Err(CliError::new(&name, e)));
                    }
                }
            }
            let mut buf = std::mem::take(&mut carry);
            loop {
                let have = buf.len();
                buf.resize(chunk.max(have + size), 0);
                match reader.read(&mut buf[have..]) {
                    Ok(0) => {
                        buf.truncate(have);
                        let whole = have / size * size;
                        if whole > 0 {
                            // The whole records first; the next call meets the end again.
                            carry = buf.split_off(whole);
                            total += whole;
                            return Some(Ok(Cow::Owned(buf)));
                        }
                        done = true;
                        return (have > 0)
                            .then(|| Err(ended(EndedInsideRecord { got: total + have })));
                    }
                    Ok(n) => {
                        buf.truncate(have + n);
                        let whole = buf.len() / size * size;
                        if whole > 0 {
                            carry = buf.split_off(whole);
                            total += whole;
                            return Some(Ok(Cow::Owned(buf)));
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.truncate(have),
                    Err(e) => {
                        done = true;
                        return Some(Err(CliError::new(&name, e)));
                    }
                }
            }
        })
    }
}
