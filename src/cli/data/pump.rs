//! One direction of a kernel session: every byte from one file descriptor to another, with
//! the fewest copies Linux offers.
//!
//! A regular file on stdin goes out with `sendfile(2)`: the kernel hands the file's cached
//! pages to the socket, one call per chunk, no pipe. Otherwise `splice(2)` moves pages between
//! a pipe and another descriptor without copying them through user space. When one end is a
//! pipe (a shell pipeline's stdin or stdout) the bytes go
//! straight across; when neither is (a file on stdin, a socket to `/dev/null`), through a
//! pipe of our own. Where the kernel refuses (`EINVAL`: a terminal, a file opened for
//! appending, a descriptor type without splice support) the copy goes on with plain
//! `read(2)` / `write(2)` from the point reached, so no byte is lost or repeated.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::event::{PollFd, PollFlags, poll};
use rustix::fs::{FileType, fstat, sendfile};
use rustix::io::Errno;
use rustix::pipe::{SpliceFlags, fcntl_setpipe_size, pipe, splice};

/// Bytes per `read(2)` or `splice(2)`.
const CHUNK: usize = 1024 * 1024;
/// The size asked for our own pipe (the kernel may give less: `/proc/sys/fs/pipe-max-size`).
const PIPE_SIZE: usize = 1024 * 1024;

/// Copies from `src` to `dst` until `src`'s end of file, adding each byte written to `count`.
/// Returns the number of bytes copied.
///
/// # Errors
///
/// A read or write failed; the error says which side (`reading` / `writing`).
pub(crate) fn copy(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, count: &AtomicU64) -> io::Result<u64> {
    let start = count.load(Ordering::Relaxed);
    if is_regular(src) {
        match send_file(src, dst, count)? {
            Done::Eof => return Ok(count.load(Ordering::Relaxed) - start),
            // Nothing was sent: splice or read/write from where the file stands.
            Done::Unsupported => {}
        }
    }
    let spliced = if is_pipe(src) || is_pipe(dst) {
        splice_direct(src, dst, count)
    } else {
        splice_through_pipe(src, dst, count)
    };
    match spliced {
        Ok(Done::Eof) => Ok(count.load(Ordering::Relaxed) - start),
        Ok(Done::Unsupported) => {
            read_write(src, dst, count)?;
            Ok(count.load(Ordering::Relaxed) - start)
        }
        Err(e) => Err(e),
    }
}

/// How a splice loop ended.
enum Done {
    /// `src` reached its end; everything was written.
    Eof,
    /// The kernel cannot splice these descriptors; everything read so far was written.
    Unsupported,
}

/// Whether `fd` is a pipe or FIFO.
fn is_pipe(fd: BorrowedFd<'_>) -> bool {
    fstat(fd).is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Fifo)
}

/// Whether `fd` is a regular file.
fn is_regular(fd: BorrowedFd<'_>) -> bool {
    fstat(fd).is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile)
}

/// `sendfile(2)` from the file's offset (which it advances) to `dst`, until the file's end.
fn send_file(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, count: &AtomicU64) -> io::Result<Done> {
    loop {
        match sendfile(dst, src, None, CHUNK) {
            Ok(0) => return Ok(Done::Eof),
            Ok(n) => {
                count.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => wait_writable(dst)?,
            // The file's offset moved by what was sent only, so the next way goes on from
            // there.
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => return Ok(Done::Unsupported),
            Err(e) => return Err(side_error(e)),
        }
    }
}

fn flags() -> SpliceFlags {
    SpliceFlags::MOVE | SpliceFlags::MORE
}

/// One end is a pipe: splice straight from `src` to `dst`.
fn splice_direct(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, count: &AtomicU64) -> io::Result<Done> {
    loop {
        match splice(src, None, dst, None, CHUNK, flags()) {
            Ok(0) => return Ok(Done::Eof),
            Ok(n) => {
                count.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => wait_both(src, dst)?,
            // Nothing was taken from `src` by a failed call, so read/write picks up here.
            Err(Errno::INVAL) => return Ok(Done::Unsupported),
            Err(e) => return Err(side_error(e)),
        }
    }
}

/// Neither end is a pipe: `src` → our pipe → `dst`.
fn splice_through_pipe(
    src: BorrowedFd<'_>,
    dst: BorrowedFd<'_>,
    count: &AtomicU64,
) -> io::Result<Done> {
    let (rd, wr): (OwnedFd, OwnedFd) = pipe().map_err(io::Error::from)?;
    // A bigger pipe means fewer calls; the default (64 KiB) still works if refused.
    let _ = fcntl_setpipe_size(&wr, PIPE_SIZE);
    loop {
        let n = match splice(src, None, &wr, None, CHUNK, flags()) {
            Ok(0) => return Ok(Done::Eof),
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) => {
                wait_readable(src)?;
                continue;
            }
            Err(Errno::INVAL) => return Ok(Done::Unsupported),
            Err(e) => return Err(reading(e.into())),
        };
        let mut left = n;
        while left > 0 {
            match splice(&rd, None, dst, None, left, flags()) {
                Ok(0) => return Err(writing(io::ErrorKind::WriteZero.into())),
                Ok(m) => {
                    left -= m;
                    count.fetch_add(m as u64, Ordering::Relaxed);
                }
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => wait_writable(dst)?,
                Err(Errno::INVAL) => {
                    // `dst` takes no splice (a file opened for appending): hand over what
                    // the pipe holds, then go on with read/write.
                    drain(rd.as_fd(), dst, left, count)?;
                    return Ok(Done::Unsupported);
                }
                Err(e) => return Err(writing(e.into())),
            }
        }
    }
}

/// Writes the `left` bytes in our pipe to `dst` with read/write.
fn drain(
    rd: BorrowedFd<'_>,
    dst: BorrowedFd<'_>,
    mut left: usize,
    count: &AtomicU64,
) -> io::Result<()> {
    let mut buf = vec![0u8; CHUNK.min(left)];
    while left > 0 {
        let want = left.min(buf.len());
        let n = retry(|| rustix::io::read(rd, &mut buf[..want])).map_err(reading)?;
        write_all(dst, &buf[..n], count)?;
        left -= n;
    }
    Ok(())
}

/// The plain copy: `read(2)` into a buffer, `write(2)` it all.
fn read_write(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, count: &AtomicU64) -> io::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match rustix::io::read(src, &mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) => {
                wait_readable(src)?;
                continue;
            }
            Err(e) => return Err(reading(e.into())),
        };
        write_all(dst, &buf[..n], count)?;
    }
}

/// Writes all of `bytes` to `dst`, adding each byte written to `count`.
pub(crate) fn write_all(
    dst: BorrowedFd<'_>,
    mut bytes: &[u8],
    count: &AtomicU64,
) -> io::Result<()> {
    while !bytes.is_empty() {
        match rustix::io::write(dst, bytes) {
            Ok(0) => return Err(writing(io::ErrorKind::WriteZero.into())),
            Ok(n) => {
                bytes = &bytes[n..];
                count.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => wait_writable(dst)?,
            Err(e) => return Err(writing(e.into())),
        }
    }
    Ok(())
}

fn retry<T>(mut f: impl FnMut() -> Result<T, Errno>) -> io::Result<T> {
    loop {
        match f() {
            Err(Errno::INTR) => {}
            other => return other.map_err(io::Error::from),
        }
    }
}

/// A descriptor we were handed in non-blocking mode (a shared terminal, a parent's socket)
/// says `EAGAIN`: wait until it is ready rather than spin.
fn wait_readable(fd: BorrowedFd<'_>) -> io::Result<()> {
    wait(fd, PollFlags::IN)
}

fn wait_writable(fd: BorrowedFd<'_>) -> io::Result<()> {
    wait(fd, PollFlags::OUT)
}

fn wait_both(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> io::Result<()> {
    let mut fds = [
        PollFd::new(&src, PollFlags::IN),
        PollFd::new(&dst, PollFlags::OUT),
    ];
    retry(|| poll(&mut fds, None)).map(drop)
}

fn wait(fd: BorrowedFd<'_>, flags: PollFlags) -> io::Result<()> {
    let mut fds = [PollFd::new(&fd, flags)];
    retry(|| poll(&mut fds, None)).map(drop)
}

/// A failed splice between two descriptors: the call does not say which side failed, so name
/// the likelier (a broken pipe or a full disk is the writing side's; anything else, such as a
/// reset, the reading side's).
fn side_error(e: Errno) -> io::Error {
    if matches!(e, Errno::PIPE | Errno::NOSPC | Errno::DQUOT | Errno::FBIG) {
        writing(e.into())
    } else {
        reading(e.into())
    }
}

fn reading(e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("reading: {e}"))
}

fn writing(e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("writing: {e}"))
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Seek as _, Write as _};
    use std::os::unix::net::UnixStream;

    use super::*;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn file_to_socket_through_our_pipe() {
        let data = pattern(3 * CHUNK + 17);
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&data).unwrap();
        file.rewind().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            b.read_to_end(&mut got).unwrap();
            got
        });
        let count = AtomicU64::new(0);
        let n = copy(file.as_fd(), a.as_fd(), &count).unwrap();
        drop(a);
        assert_eq!(n, data.len() as u64);
        assert_eq!(count.load(Ordering::Relaxed), data.len() as u64);
        assert_eq!(reader.join().unwrap(), data);
    }

    #[test]
    fn socket_to_appending_file_falls_back_without_loss() {
        let data = pattern(2 * CHUNK + 5);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        let sent = data.clone();
        let writer = std::thread::spawn(move || {
            b.write_all(&sent).unwrap();
        });
        let count = AtomicU64::new(0);
        let copier = std::thread::spawn(move || copy(a.as_fd(), out.as_fd(), &count).unwrap());
        writer.join().unwrap();
        assert_eq!(copier.join().unwrap(), data.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), data);
    }

    #[test]
    fn file_to_file_with_sendfile_from_the_current_offset() {
        let data = pattern(CHUNK + 3);
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&data).unwrap();
        // Starts where the file stands, as a shell's `< file` after a partial read would.
        file.seek(std::io::SeekFrom::Start(10)).unwrap();
        let mut out = tempfile::tempfile().unwrap();
        let count = AtomicU64::new(0);
        assert_eq!(
            copy(file.as_fd(), out.as_fd(), &count).unwrap(),
            data.len() as u64 - 10
        );
        out.rewind().unwrap();
        let mut got = Vec::new();
        out.read_to_end(&mut got).unwrap();
        assert_eq!(got, data[10..]);
    }

    #[test]
    fn socket_to_pipe_directly() {
        let data = pattern(CHUNK + 1234);
        let (a, mut b) = UnixStream::pair().unwrap();
        let (rd, wr) = pipe().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            std::fs::File::from(rd).read_to_end(&mut got).unwrap();
            got
        });
        let sent = data.clone();
        let writer = std::thread::spawn(move || b.write_all(&sent).unwrap());
        let count = AtomicU64::new(0);
        let copier = std::thread::spawn(move || copy(a.as_fd(), wr.as_fd(), &count).unwrap());
        writer.join().unwrap();
        assert_eq!(copier.join().unwrap(), data.len() as u64);
        assert_eq!(reader.join().unwrap(), data);
    }

    #[test]
    fn pipe_to_socket_directly() {
        let data = pattern(CHUNK + 99);
        let (rd, wr) = pipe().unwrap();
        let sent = data.clone();
        let writer = std::thread::spawn(move || {
            let mut f = std::fs::File::from(wr);
            f.write_all(&sent).unwrap();
        });
        let (a, mut b) = UnixStream::pair().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            b.read_to_end(&mut got).unwrap();
            got
        });
        let count = AtomicU64::new(0);
        assert_eq!(
            copy(rd.as_fd(), a.as_fd(), &count).unwrap(),
            data.len() as u64
        );
        writer.join().unwrap();
        drop(a);
        assert_eq!(reader.join().unwrap(), data);
    }
}
