//! `struct unpack --iter` on every core: the records come in chunks (slices of input in
//! memory, or read from a file by a reader thread while earlier chunks are formatted), each
//! chunk's text is made on one of a few worker threads (chunk `i` on worker `i % workers`, each
//! in order), and the calling thread writes the texts out in input order, so the output is the
//! same bytes as one thread's.

use std::borrow::Cow;
use std::num::NonZero;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::super::CliError;

/// Input bytes per chunk (rounded down to whole records, at least one): large enough that
/// handing chunks between threads is rare, small enough that a chunk's text stays in cache.
const CHUNK_IN: usize = 256 * 1024;
/// Worker threads at most.
const MAX_WORKERS: usize = 4;
/// Chunks a worker may hold ahead of it, and done ahead of the writer.
const AHEAD: usize = 3;

/// Whole records of input: borrowed from bytes in memory, or read from a file.
pub(super) type Chunk<'d> = Result<Cow<'d, [u8]>, CliError>;

/// A chunk's text, or why it has none.
type Text = Result<Vec<u8>, CliError>;

/// The length of a chunk of records of `size` bytes: whole records, at least one.
pub(super) fn chunk_len(size: usize) -> usize {
    (CHUNK_IN / size.max(1)).max(1) * size.max(1)
}

/// The chunks of bytes in memory, [`chunk_len`] long (the last one shorter).
pub(super) fn in_memory(data: &[u8], size: usize) -> impl Iterator<Item = Chunk<'_>> + Send {
    data.chunks(chunk_len(size))
        .map(|part| Ok(Cow::Borrowed(part)))
}

/// Formats each chunk with `format` (which appends the chunk's text to the buffer) and hands
/// the texts to `write` in input order. Stops at the first error (of a chunk, or of its text),
/// or quietly when `write` returns `Ok(false)` (the reader has gone away).
pub(super) fn format_in_order<'d, S, F, W>(
    chunks: S,
    format: F,
    mut write: W,
) -> Result<(), CliError>
where
    S: Iterator<Item = Chunk<'d>> + Send,
    F: Fn(&[u8], &mut Vec<u8>) -> Result<(), CliError> + Sync,
    W: FnMut(&[u8]) -> Result<bool, CliError>,
{
    let workers = std::thread::available_parallelism()
        .map_or(1, NonZero::get)
        .clamp(1, MAX_WORKERS);
    std::thread::scope(|scope| {
        // Per worker: chunks in, their text out, and the written buffers back for reuse.
        let mut inputs: Vec<SyncSender<Chunk<'d>>> = Vec::with_capacity(workers);
        let mut lanes: Vec<(Receiver<Text>, SyncSender<Vec<u8>>)> = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (to_worker, input) = sync_channel::<Chunk<'d>>(AHEAD);
            let (done, texts) = sync_channel(AHEAD);
            let (give_back, spare) = sync_channel::<Vec<u8>>(AHEAD + 1);
            let format = &format;
            scope.spawn(move || {
                // Until the reader is done with this worker's chunks.
                for part in input {
                    let text = part.and_then(|part| {
                        let mut buf = spare.try_recv().unwrap_or_default();
                        buf.clear();
                        format(&part, &mut buf).map(|()| buf)
                    });
                    let failed = text.is_err();
                    // The writer has stopped (an error, or the reader went away): stop too.
                    if done.send(text).is_err() || failed {
                        return;
                    }
                }
            });
            inputs.push(to_worker);
            lanes.push((texts, give_back));
        }
        scope.spawn(move || {
            for (i, chunk) in chunks.enumerate() {
                let failed = chunk.is_err();
                if inputs[i % workers].send(chunk).is_err() || failed {
                    return;
                }
            }
        });
        let mut i = 0;
        loop {
            let (texts, give_back) = &lanes[i % workers];
            // A worker goes once its chunks are done: chunk i is not there, the input has ended.
            let Ok(text) = texts.recv() else {
                return Ok(());
            };
            let text = text?;
            if !write(&text)? {
                return Ok(());
            }
            // A full return lane only means the worker has enough spare buffers.
            let _ = give_back.try_send(text);
            i += 1;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends the bytes plus one: a text that shows which bytes came in which order.
    fn plus_one(part: &[u8], buf: &mut Vec<u8>) -> Result<(), CliError> {
        buf.extend(part.iter().map(|b| b.wrapping_add(1)));
        Ok(())
    }

    /// Every chunk's text arrives once and in order, whatever the chunk and record sizes.
    #[test]
    fn text_in_input_order() {
        let data: Vec<u8> = (0..=255u8).cycle().take(9 * CHUNK_IN + 21).collect();
        for size in [1, 3, 7, 4096, CHUNK_IN + 5] {
            let data = &data[..data.len() / size * size];
            let mut out = Vec::new();
            format_in_order(in_memory(data, size), plus_one, |text| {
                out.extend_from_slice(text);
                Ok(true)
            })
            .unwrap();
            let want: Vec<u8> = data.iter().map(|b| b.wrapping_add(1)).collect();
            assert!(out == want, "record size {size}");
        }
        let mut calls = 0;
        format_in_order(in_memory(&[], 4), plus_one, |_| {
            calls += 1;
            Ok(true)
        })
        .unwrap();
        assert_eq!(calls, 0, "no input, no text");
    }

    #[test]
    fn stops_when_the_reader_goes() {
        let data = vec![0u8; 10 * CHUNK_IN];
        let mut writes = 0;
        format_in_order(in_memory(&data, 8), plus_one, |_| {
            writes += 1;
            Ok(writes < 3)
        })
        .unwrap();
        assert_eq!(writes, 3);
    }

    /// The chunks before a bad one are written, then its error is returned.
    #[test]
    fn stops_at_a_bad_chunk_or_text() {
        let data = vec![0u8; 10 * CHUNK_IN];
        let fail_fifth = |part: &[u8], buf: &mut Vec<u8>| {
            if part.as_ptr() as usize - data.as_ptr() as usize == 4 * CHUNK_IN {
                return Err(CliError::new("chunk 4", "bad"));
            }
            buf.push(b'x');
            Ok(())
        };
        let mut written = 0;
        let err = format_in_order(in_memory(&data, 8), fail_fifth, |_| {
            written += 1;
            Ok(true)
        });
        assert!(err.unwrap_err().to_string().contains("chunk 4"));
        assert_eq!(written, 4);

        let unreadable = in_memory(&data, 8).enumerate().map(|(i, chunk)| match i {
            6 => Err(CliError::new("chunk 6", "unreadable")),
            _ => chunk,
        });
        let mut written = 0;
        let err = format_in_order(unreadable, plus_one, |_| {
            written += 1;
            Ok(true)
        });
        assert!(err.unwrap_err().to_string().contains("chunk 6"));
        assert_eq!(written, 6);
    }
}
