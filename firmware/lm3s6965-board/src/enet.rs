//! The LM3S6965's Ethernet MAC at register level: bring-up, one frame in or out of its FIFOs,
//! and its interrupt (armed by the caller before it sleeps, masked again by the handler).
//!
//! # The controller
//!
//! Registers are 32-bit, at `0x4004_8000` (LM3S6965 datasheet, "Ethernet Controller"):
//!
//! | offset | name | use here |
//! | --- | --- | --- |
//! | `0x00` | MACRIS / MACIACK | read: raw interrupt status; write 1s: acknowledge |
//! | `0x04` | MACIM | interrupt mask: RXINT/TXEMP only while a caller waits ([`arm_wakeup`]) |
//! | `0x08` | MACRCTL | RXEN, AMUL (all multicast), PRMS, BADCRC (drop bad FCS), RSTFIFO |
//! | `0x0c` | MACTCTL | TXEN, PADEN (pad to 60 bytes), CRC (append the FCS), DUPLEX |
//! | `0x10` | MACDATA | both FIFOs, one 32-bit word per access, bytes little-endian |
//! | `0x14`, `0x18` | MACIA0, MACIA1 | the station MAC address (bytes 0-3, 4-5) |
//! | `0x1c` | MACTHR | transmit threshold: `0x3f` (reset) = send only on MACTR |
//! | `0x24` | MACMDV | MII management clock divider |
//! | `0x34` | MACNP | number of complete frames in the receive FIFO |
//! | `0x38` | MACTR | NEWTX: write 1 to send the frame in the transmit FIFO; reads 1 until sent |
//!
//! The clock is gated in SYSCTL RCGC2 (`0x400f_e108`, EMAC0 bit 28, EPHY0 bit 30); the MAC
//! address is factory-programmed in the flash user registers USER0/USER1 (`0x400f_e1e0`/`e4`,
//! three bytes each, low byte first) and software copies it into MACIA0/1.
//!
//! **Receive FIFO.** Each frame starts with a 16-bit length that counts itself, the frame
//! (destination address to payload) and the 4-byte FCS; the frame's first two bytes share the
//! first word with it. The frame is padded to a whole word; the word that holds the last byte
//! pops the frame (MACNP decrements). Reading MACDATA with MACNP = 0 is an underflow.
//!
//! **Transmit FIFO.** The first word's low half is the *payload* length (the frame minus the
//! 14-byte header; no FCS), its high half the first two bytes of the destination; then the rest
//! of the frame, one word at a time, the last word zero-padded. MACTR.NEWTX sends it. The FIFO
//! holds one frame: wait for NEWTX to read 0 before writing the next.
//!
//! # Where QEMU (7.2, `hw/net/stellaris_enet.c`) differs from the silicon
//!
//! * **No address filtering.** QEMU hands every frame from the backend to the FIFO whatever
//!   MACIA0/1, AMUL and PRMS say (a "TODO" in the model): the MAC is always promiscuous.
//!   The network stack drops frames that are not for it, so nothing changes for us; on silicon AMUL must
//!   be set for multicast to arrive at all (the MAC has no hash filter), and we set it.
//! * **The receive FIFO holds 31 frames** of up to 2 KiB each, not 2 KiB in total; overrun
//!   (MACRIS.FOV) only when a single frame would not fit. On silicon a burst of full-size
//!   frames overruns after one.
//! * **FCS.** QEMU appends a CRC-32 that it computes itself, so BADCRC never drops anything.
//!   On transmit QEMU ignores MACTCTL.CRC and never puts an FCS on the wire (the TAP gets the
//!   bare frame); silicon appends it only with CRC set.
//! * **MACTR reads 0 always:** QEMU sends the frame synchronously inside the write. Silicon
//!   clears NEWTX only once the frame is out, so callers check [`tx_idle`].
//! * **The MAC address is preset.** QEMU loads MACIA0/1 from `-nic ...,mac=` (default
//!   `52:54:00:12:34:56`) and also reports it in USER0/USER1; on silicon MACIA0/1 reset to 0.
//!   We read USER0/USER1 and write MACIA0/1 from it, which is right on both.
//! * **No PHY, no MII.** The MII management registers are stubs (MACMCTL.START clears at once,
//!   MACMRXD reads 0), so link status cannot be read; the link is always "up". On silicon the
//!   internal PHY autonegotiates after reset and MACMDV must keep MDC at or below 2.5 MHz.
//! * **Clock gating is not modelled:** the MAC answers with RCGC2.EMAC0 clear. Silicon faults.
//! * **Underflow** (reading MACDATA with MACNP = 0) returns 0 and prints
//!   `stellaris_enet: error: RX underflow` on QEMU's stderr; we never do it.
//! * A payload length over 2032 in the first transmit word raises TXER and drops the frame.
//!
//! Every MMIO access is a volatile read or write of the crate's `Reg`; the rest of the `unsafe` is
//! the NVIC unmask and the interrupt number.

use cortex_m::interrupt::InterruptNumber;
use cortex_m::peripheral::NVIC;

use crate::Reg;

/// Largest frame we send or accept, without FCS: 14-byte header + 1500-byte MTU.
pub const FRAME_MAX: usize = 1514;
/// Ethernet header: destination, source, EtherType.
pub const HEADER: usize = 14;
/// Smallest frame the MAC can have received: a header, plus the FIFO's length and FCS.
const RX_OVERHEAD: usize = 2 + 4;

const ENET_BASE: usize = 0x4004_8000;
const SYSCTL_BASE: usize = 0x400f_e000;

const MACRIS: Reg = Reg(ENET_BASE);
const MACIM: Reg = Reg(ENET_BASE + 0x04);
const MACRCTL: Reg = Reg(ENET_BASE + 0x08);
const MACTCTL: Reg = Reg(ENET_BASE + 0x0c);
const MACDATA: Reg = Reg(ENET_BASE + 0x10);
const MACIA0: Reg = Reg(ENET_BASE + 0x14);
const MACIA1: Reg = Reg(ENET_BASE + 0x18);
const MACTHR: Reg = Reg(ENET_BASE + 0x1c);
const MACMDV: Reg = Reg(ENET_BASE + 0x24);
const MACNP: Reg = Reg(ENET_BASE + 0x34);
const MACTR: Reg = Reg(ENET_BASE + 0x38);

const RCGC2: Reg = Reg(SYSCTL_BASE + 0x108);
const USER0: Reg = Reg(SYSCTL_BASE + 0x1e0);
const USER1: Reg = Reg(SYSCTL_BASE + 0x1e4);

const RCGC2_EMAC0: u32 = 1 << 28;
const RCGC2_EPHY0: u32 = 1 << 30;

const RCTL_RXEN: u32 = 1 << 0;
const RCTL_AMUL: u32 = 1 << 1;
const RCTL_BADCRC: u32 = 1 << 3;
const RCTL_RSTFIFO: u32 = 1 << 4;

const TCTL_TXEN: u32 = 1 << 0;
const TCTL_PADEN: u32 = 1 << 1;
const TCTL_CRC: u32 = 1 << 2;
const TCTL_DUPLEX: u32 = 1 << 4;

const TR_NEWTX: u32 = 1 << 0;
/// MACTHR value that disables threshold transmission: frames go out on MACTR only.
const THR_DISABLED: u32 = 0x3f;
/// All seven interrupt sources of MACRIS.
const INT_ALL: u32 = 0x7f;
/// MACRIS.FOV: a frame was lost because the receive FIFO was full.
const INT_FOV: u32 = 1 << 3;
/// MACRIS.RXINT: a frame arrived.
pub const INT_RX: u32 = 1 << 0;
/// MACRIS.TXEMP: the transmit FIFO is empty (the frame is out).
pub const INT_TX: u32 = 1 << 2;

/// The Ethernet controller's interrupt number (vector 58): what a `DefaultHandler` gets as
/// `irqn` for it.
pub const IRQ: i16 = 42;

/// The Ethernet controller's interrupt, for the NVIC.
#[derive(Clone, Copy)]
struct EthernetIrq;

// SAFETY: 42 is the LM3S6965's Ethernet IRQ number, below the NVIC's limit.
unsafe impl InterruptNumber for EthernetIrq {
    fn number(self) -> u16 {
        IRQ as u16
    }
}

/// How many status reads to wait for the transmitter before giving up on a frame.
const TX_SPIN_LIMIT: u32 = 100_000;

/// A locally administered address for a part whose USER0/USER1 were never programmed.
const FALLBACK_MAC: [u8; 6] = [0x02, 0x00, 0x5f, 0x70, 0x73, 0x01];

/// Enables the controller's clock, resets its FIFOs, programs its address from USER0/USER1
/// and enables the receiver and transmitter, with every source masked in MACIM but the
/// interrupt enabled in the NVIC (so [`arm_wakeup`] alone decides). Returns the station
/// address (from USER0/USER1, which QEMU fills from `-nic ...,mac=`).
///
/// The caller's `DefaultHandler` must call [`mask_interrupts`] for [`IRQ`], or the interrupt
/// fires again as soon as it returns.
pub fn init() -> [u8; 6] {
    RCGC2.write(RCGC2.read() | RCGC2_EMAC0 | RCGC2_EPHY0);
    // The datasheet asks for a few cycles before the first access to a newly clocked
    // peripheral; reading the gate register back provides them.
    let _ = RCGC2.read();

    MACIM.write(0);
    MACRIS.write(INT_ALL);
    // MDC at most 2.5 MHz: MDV = sysclk / (2 * 2.5 MHz), 10 at 50 MHz.
    MACMDV.write(10);

    let mac = factory_mac();
    MACIA0.write(u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]]));
    MACIA1.write(u32::from_le_bytes([mac[4], mac[5], 0, 0]));

    MACTHR.write(THR_DISABLED);
    MACTCTL.write(TCTL_TXEN | TCTL_PADEN | TCTL_CRC | TCTL_DUPLEX);
    MACRCTL.write(RCTL_RSTFIFO);
    MACRCTL.write(RCTL_RXEN | RCTL_AMUL | RCTL_BADCRC);
    // SAFETY: the handler the caller provides touches MACIM alone ([`mask_interrupts`]),
    // which races with nothing: [`arm_wakeup`] writes it with interrupts masked or with
    // the source acknowledged first.
    unsafe { NVIC::unmask(EthernetIrq) };
    mac
}

/// Whether a complete frame waits in the receive FIFO.
pub fn frame_waiting() -> bool {
    MACNP.read() & 0x3f != 0
}

/// Reads the oldest frame out of the receive FIFO into `buf`; its length without FCS, or
/// `None` (the frame is consumed either way) if it does not fit or is shorter than a header.
/// Call it only when [`frame_waiting`].
pub fn read_frame(buf: &mut [u8; FRAME_MAX]) -> Option<usize> {
    let first = MACDATA.read();
    let fifo_len = (first & 0xffff) as usize;
    let words = fifo_len.div_ceil(4).max(1);
    let frame_len = fifo_len.saturating_sub(RX_OVERHEAD);
    let fits = fifo_len >= RX_OVERHEAD + HEADER && frame_len <= FRAME_MAX;
    if !fits {
        for _ in 1..words {
            let _ = MACDATA.read();
        }
        return None;
    }
    // Bytes 2 and 3 of the FIFO stream are the frame's first two bytes.
    let [_, _, b0, b1] = first.to_le_bytes();
    buf[0] = b0;
    buf[1] = b1;
    let mut at = 2;
    for _ in 1..words {
        let word = MACDATA.read().to_le_bytes();
        for byte in word {
            // The tail of the stream is the FCS and the padding: read, not kept.
            if at < frame_len {
                buf[at] = byte;
            }
            at += 1;
        }
    }
    Some(frame_len)
}

/// Whether the receive FIFO overflowed (a frame was lost in the MAC) since the last call.
pub fn take_overrun() -> bool {
    if MACRIS.read() & INT_FOV != 0 {
        MACRIS.write(INT_FOV);
        return true;
    }
    false
}

/// Whether the transmit FIFO is free (the previous frame is out).
pub fn tx_idle() -> bool {
    MACTR.read() & TR_NEWTX == 0
}

/// Sends `frame` (destination address to payload, no FCS; at least a header and at most
/// [`FRAME_MAX`] bytes, or nothing is sent). Waits, bounded, for the previous frame to be out
/// first: on silicon it could still be leaving.
pub fn write_frame(frame: &[u8]) {
    if frame.len() < HEADER || frame.len() > FRAME_MAX {
        return;
    }
    let mut spins = 0;
    while !tx_idle() && spins < TX_SPIN_LIMIT {
        spins += 1;
    }
    let payload = (frame.len() - HEADER) as u32;
    MACDATA.write(payload | u32::from(frame[0]) << 16 | u32::from(frame[1]) << 24);
    for chunk in frame[2..].chunks(4) {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        MACDATA.write(u32::from_le_bytes(word));
    }
    MACTR.write(TR_NEWTX);
}

/// Before waiting: lets the next received frame raise the Ethernet interrupt, so `wfi`
/// wakes for it. Returns `false`, without arming, if a frame is already waiting (do not
/// sleep). Call it with interrupts masked, then `wfi`.
pub fn arm_rx_wakeup() -> bool {
    MACRIS.write(INT_RX);
    MACIM.write(INT_RX);
    if frame_waiting() {
        MACIM.write(0);
        return false;
    }
    true
}

/// Before waiting for a waker: unmasks the sources in `sources` ([`INT_RX`], [`INT_TX`]) on
/// top of those already armed, acknowledged first, so the interrupt comes for an event after
/// this call; the handler's [`mask_interrupts`] ends them all. Returns `false`, without
/// arming, if what is waited for is already there (a frame received, the transmitter idle).
pub fn arm_wakeup(sources: u32) -> bool {
    let ready = (sources & INT_RX != 0 && frame_waiting()) || (sources & INT_TX != 0 && tx_idle());
    if ready {
        return false;
    }
    MACRIS.write(sources);
    MACIM.write(MACIM.read() | sources);
    // The event may have come between the check and the unmask, before the acknowledgement.
    let ready = (sources & INT_RX != 0 && frame_waiting()) || (sources & INT_TX != 0 && tx_idle());
    !ready
}

/// In the Ethernet interrupt's handler: masks every source again (the interrupt only ends a
/// wait; the FIFOs are read outside it).
pub fn mask_interrupts() {
    MACIM.write(0);
}

/// The MAC address of USER0/USER1, or [`FALLBACK_MAC`] if they are erased (all ones).
fn factory_mac() -> [u8; 6] {
    let (user0, user1) = (USER0.read(), USER1.read());
    if user0 == u32::MAX || user1 == u32::MAX {
        return FALLBACK_MAC;
    }
    let [a, b, c, _] = user0.to_le_bytes();
    let [d, e, f, _] = user1.to_le_bytes();
    [a, b, c, d, e, f]
}
