//! The test harness's control-port answers, put together by hand: `core::fmt` would cost
//! kilobytes of flash. Both images' `control` modules (feature `control`) use it.

/// A 48-byte answer line (longer text is cut).
pub struct Line {
    buf: [u8; 48],
    len: usize,
}

impl Line {
    pub fn new() -> Self {
        Self {
            buf: [0; 48],
            len: 0,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub fn text(&mut self, s: &str) {
        for &b in s.as_bytes() {
            if self.len < self.buf.len() {
                self.buf[self.len] = b;
                self.len += 1;
            }
        }
    }

    /// Appends `n` in decimal.
    pub fn number(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &d in &digits[at..] {
            if self.len < self.buf.len() {
                self.buf[self.len] = d;
                self.len += 1;
            }
        }
    }
}
