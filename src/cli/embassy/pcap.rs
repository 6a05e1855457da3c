//! `--pcap FILE` on the embassy backend: an embassy-net [`Driver`] that writes every frame it
//! receives and sends to a pcap capture (the classic libpcap format, Ethernet link type), as
//! the smoltcp backend's `PcapWriter` does. Each record is written whole, unbuffered, when
//! its frame crosses the driver, so the file is complete whenever the process ends (the
//! stack is never dropped).

use std::fs::File;
use std::io::{self, Write as _};
use std::path::Path;
use std::task::Context;
use std::time::{SystemTime, UNIX_EPOCH};

use embassy_net::driver::{Capabilities, Driver, HardwareAddress, LinkState, RxToken, TxToken};

/// pcap's magic number (microsecond timestamps), written in the host's byte order, which
/// tells readers the order of every other field.
const MAGIC: u32 = 0xa1b2_c3d4;
/// File format version 2.4.
const VERSION: (u16, u16) = (2, 4);
/// The longest frame a record keeps.
const SNAPLEN: u32 = 65_535;
/// LINKTYPE_ETHERNET.
const LINKTYPE_ETHERNET: u32 = 1;

/// A driver whose frames are also written to a capture file, when there is one.
pub(crate) struct Capture<D> {
    inner: D,
    sink: Option<File>,
}

impl<D> Capture<D> {
    /// `inner`'s frames, captured to a new file at `path` (none without).
    ///
    /// # Errors
    ///
    /// Creating the file or writing its header.
    pub(crate) fn new(inner: D, path: Option<&Path>) -> io::Result<Self> {
        let sink = match path {
            None => None,
            Some(path) => {
                let mut file = File::create(path).map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("cannot create pcap file {}: {e}", path.display()),
                    )
                })?;
                file.write_all(&header())?;
                Some(file)
            }
        };
        Ok(Self { inner, sink })
    }
}

/// The file header: magic, version, time zone 0, accuracy 0, snap length, link type.
fn header() -> Vec<u8> {
    let mut bytes = Vec::with_capacity(24);
    bytes.extend_from_slice(&MAGIC.to_ne_bytes());
    bytes.extend_from_slice(&VERSION.0.to_ne_bytes());
    bytes.extend_from_slice(&VERSION.1.to_ne_bytes());
    bytes.extend_from_slice(&0i32.to_ne_bytes());
    bytes.extend_from_slice(&0u32.to_ne_bytes());
    bytes.extend_from_slice(&SNAPLEN.to_ne_bytes());
    bytes.extend_from_slice(&LINKTYPE_ETHERNET.to_ne_bytes());
    bytes
}

/// One record: the wall-clock time, the lengths, the frame (cut to the snap length).
fn record(frame: &[u8]) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let kept = &frame[..frame.len().min(SNAPLEN as usize)];
    let mut bytes = Vec::with_capacity(16 + kept.len());
    // pcap's classic seconds field is 32 bits wide.
    bytes.extend_from_slice(&(now.as_secs() as u32).to_ne_bytes());
    bytes.extend_from_slice(&now.subsec_micros().to_ne_bytes());
    bytes.extend_from_slice(&(kept.len() as u32).to_ne_bytes());
    bytes.extend_from_slice(&(frame.len() as u32).to_ne_bytes());
    bytes.extend_from_slice(kept);
    bytes
}

/// Appends `frame` to the capture, if there is one. A failed write loses that record only: a
/// full disk is no reason to stop the network.
fn write(sink: Option<&File>, frame: &[u8]) {
    if let Some(mut file) = sink {
        let _ = file.write_all(&record(frame));
    }
}

impl<D: Driver> Driver for Capture<D> {
    type RxToken<'a>
        = CaptureRx<'a, D::RxToken<'a>>
    where
        Self: 'a;
    type TxToken<'a>
        = CaptureTx<'a, D::TxToken<'a>>
    where
        Self: 'a;

    fn receive(&mut self, cx: &mut Context<'_>) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let sink = self.sink.as_ref();
        self.inner
            .receive(cx)
            .map(|(rx, tx)| (CaptureRx { inner: rx, sink }, CaptureTx { inner: tx, sink }))
    }

    fn transmit(&mut self, cx: &mut Context<'_>) -> Option<Self::TxToken<'_>> {
        let sink = self.sink.as_ref();
        self.inner
            .transmit(cx)
            .map(|tx| CaptureTx { inner: tx, sink })
    }

    fn link_state(&mut self, cx: &mut Context<'_>) -> LinkState {
        self.inner.link_state(cx)
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn hardware_address(&self) -> HardwareAddress {
        self.inner.hardware_address()
    }
}

/// A received frame, captured as the stack reads it.
pub(crate) struct CaptureRx<'a, T> {
    inner: T,
    sink: Option<&'a File>,
}

impl<T: RxToken> RxToken for CaptureRx<'_, T> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let sink = self.sink;
        self.inner.consume(|frame| {
            write(sink, frame);
            f(frame)
        })
    }
}

/// A frame to send, captured once the stack has filled it in.
pub(crate) struct CaptureTx<'a, T> {
    inner: T,
    sink: Option<&'a File>,
}

impl<T: TxToken> TxToken for CaptureTx<'_, T> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let sink = self.sink;
        self.inner.consume(len, |frame| {
            let out = f(frame);
            write(sink, frame);
            out
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_carry_both_lengths() {
        assert_eq!(header().len(), 24);
        let rec = record(&[1, 2, 3]);
        assert_eq!(rec.len(), 16 + 3);
        assert_eq!(rec[8..12], 3u32.to_ne_bytes());
        assert_eq!(rec[12..16], 3u32.to_ne_bytes());
        assert_eq!(rec[16..], [1, 2, 3]);
    }
}
