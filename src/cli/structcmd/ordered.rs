//! `struct unpack --iter` on every core: the records cut into chunks, each chunk's text made on
//! one of a few worker threads (chunk `i` on worker `i % workers`, in order), and written out in
//! input order by the calling thread, so the output is the same bytes as one thread's.

use std::num::NonZero;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::super::CliError;

/// Input bytes per chunk (rounded down to whole records, at least one): large enough that
/// handing chunks between threads is rare, small enough that a chunk's text stays in cache.
const CHUNK_IN: usize = 256 * 1024;
/// Worker threads at most.
const MAX_WORKERS: usize = 4;
/// Chunks a worker may have done ahead of the writer.
const AHEAD: usize = 3;

/// A chunk's text, or why it has none.
type Text = Result<Vec<u8>, CliError>;

/// Formats `data`, whole records of `size` bytes, chunk by chunk with `format` (which appends
/// a chunk's text to the buffer), and hands each chunk's text to `write` in input order.
/// Stops at the first error, or quietly when `write` returns `Ok(false)` (the reader has gone).
pub(super) fn format_in_order<F, W>(
    data: &[u8],
    size: usize,
    format: F,
    mut write: W,
) -> Result<(), CliError>
where
    F: Fn(&[u8], &mut Vec<u8>) -> Result<(), CliError> + Sync,
    W: FnMut(&[u8]) -> Result<bool, CliError>,
{
    let chunk = (CHUNK_IN / size.max(1)).max(1) * size.max(1);
    let count = data.len().div_ceil(chunk);
    let workers = std::thread::available_parallelism()
        .map_or(1, NonZero::get)
        .clamp(1, MAX_WORKERS)
        .min(count);
    std::thread::scope(|scope| {
        // The calling thread formats every `workers`-th chunk itself; per helper thread, its
        // chunks' text out and the written buffers back for reuse.
        let mut lanes: Vec<(Receiver<Text>, SyncSender<Vec<u8>>)> = Vec::with_capacity(workers);
        for first in 1..workers {
            let (done, texts) = sync_channel(AHEAD);
            let (give_back, spare) = sync_channel::<Vec<u8>>(AHEAD + 1);
            let format = &format;
            scope.spawn(move || {
                for part in data.chunks(chunk).skip(first).step_by(workers) {
                    let mut buf = spare.try_recv().unwrap_or_default();
                    buf.clear();
                    let text = format(part, &mut buf).map(|()| buf);
                    let failed = text.is_err();
                    // The writer has stopped (an error, or the reader went away): stop too.
                    if done.send(text).is_err() || failed {
                        return;
                    }
                }
            });
            lanes.push((texts, give_back));
        }
        let mut own = Vec::new();
        for (i, part) in data.chunks(chunk).enumerate() {
            let Some((texts, give_back)) = (i % workers).checked_sub(1).and_then(|l| lanes.get(l))
            else {
                own.clear();
                format(part, &mut own)?;
                if !write(&own)? {
                    return Ok(());
                }
                continue;
            };
            let text = texts
                .recv()
                .map_err(|_| CliError::new("struct unpack", "a formatting thread stopped"))??;
            if !write(&text)? {
                return Ok(());
            }
            // A full return lane only means the helper has enough spare buffers.
            let _ = give_back.try_send(text);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every chunk's text arrives once and in order, whatever the chunk and record sizes.
    #[test]
    fn text_in_input_order() {
        let data: Vec<u8> = (0..=255u8).cycle().take(3 * CHUNK_IN + 21).collect();
        for size in [1, 3, 7, 4096, CHUNK_IN + 5] {
            let data = &data[..data.len() / size * size];
            let mut out = Vec::new();
            let hex = |part: &[u8], buf: &mut Vec<u8>| {
                buf.extend(part.iter().map(|b| b.wrapping_add(1)));
                Ok(())
            };
            format_in_order(data, size, hex, |text| {
                out.extend_from_slice(text);
                Ok(true)
            })
            .unwrap();
            let want: Vec<u8> = data.iter().map(|b| b.wrapping_add(1)).collect();
            assert!(out == want, "record size {size}");
        }
    }

    #[test]
    fn stops_when_the_reader_goes_or_a_chunk_fails() {
        let data = vec![0u8; 10 * CHUNK_IN];
        let mut writes = 0;
        let copy = |part: &[u8], buf: &mut Vec<u8>| {
            buf.extend_from_slice(part);
            Ok(())
        };
        format_in_order(&data, 8, copy, |_| {
            writes += 1;
            Ok(writes < 3)
        })
        .unwrap();
        assert_eq!(writes, 3);
        let fail_fifth = |part: &[u8], buf: &mut Vec<u8>| {
            let at = part.as_ptr() as usize - data.as_ptr() as usize;
            if at == 4 * CHUNK_IN {
                return Err(CliError::new("chunk 4", "bad"));
            }
            buf.push(b'x');
            Ok(())
        };
        let mut written = 0;
        let err = format_in_order(&data, 8, fail_fifth, |_| {
            written += 1;
            Ok(true)
        })
        .unwrap_err();
        assert!(err.to_string().contains("chunk 4"), "{err}");
        assert_eq!(written, 4, "the chunks before the bad one are written");
    }
}
