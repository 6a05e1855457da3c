//! How a socket waits: the state behind every socket's [`Blocking`](portsock_core::transport::Blocking).

use portsock_core::time::Duration;

/// Non-blocking mode and the read / write timeouts of one socket.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Mode {
    pub(crate) nonblocking: bool,
    pub(crate) read_timeout: Option<Duration>,
    pub(crate) write_timeout: Option<Duration>,
}

impl Mode {
    /// Stores a timeout; zero is refused, as `std` refuses it.
    pub(crate) fn set_timeout(
        slot: &mut Option<Duration>,
        t: Option<Duration>,
    ) -> Result<(), &'static str> {
        if t.is_some_and(Duration::is_zero) {
            return Err("a zero timeout (use non-blocking mode instead)");
        }
        *slot = t;
        Ok(())
    }
}

/// Implements the core's `Blocking` for a socket type with a `mode: Mode` field, whose error
/// type has an `InvalidInput(&'static str)`.
macro_rules! impl_blocking {
    ($socket:ident, $error:ident) => {
        impl<D: smoltcp::phy::Device, P: $crate::platform::Platform>
            portsock_core::transport::Blocking for $socket<'_, '_, D, P>
        {
            fn set_nonblocking(&mut self, nonblocking: bool) -> Result<(), $error> {
                self.mode.nonblocking = nonblocking;
                Ok(())
            }
            fn set_read_timeout(&mut self, timeout: Option<Duration>) -> Result<(), $error> {
                $crate::mode::Mode::set_timeout(&mut self.mode.read_timeout, timeout)
                    .map_err($error::InvalidInput)
            }
            fn read_timeout(&self) -> Result<Option<Duration>, $error> {
                Ok(self.mode.read_timeout)
            }
            fn set_write_timeout(&mut self, timeout: Option<Duration>) -> Result<(), $error> {
                $crate::mode::Mode::set_timeout(&mut self.mode.write_timeout, timeout)
                    .map_err($error::InvalidInput)
            }
            fn write_timeout(&self) -> Result<Option<Duration>, $error> {
                Ok(self.mode.write_timeout)
            }
        }
    };
}
pub(crate) use impl_blocking;
