//! How a socket waits: the state behind every socket's [`Blocking`](portsock_core::transport::Blocking).

use portsock_core::time::Duration;

use crate::error::Error;

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
    ) -> Result<(), Error> {
        if t.is_some_and(Duration::is_zero) {
            return Err(Error::InvalidInput(
                "a zero timeout (use non-blocking mode instead)",
            ));
        }
        *slot = t;
        Ok(())
    }
}

/// Implements the core's `Blocking` for a socket type with a `mode: Mode` field.
macro_rules! impl_blocking {
    ($socket:ident) => {
        impl<D: smoltcp::phy::Device, P: $crate::platform::Platform>
            portsock_core::transport::Blocking for $socket<'_, '_, D, P>
        {
            fn set_nonblocking(&mut self, nonblocking: bool) -> Result<(), Error> {
                self.mode.nonblocking = nonblocking;
                Ok(())
            }
            fn set_read_timeout(&mut self, timeout: Option<Duration>) -> Result<(), Error> {
                $crate::mode::Mode::set_timeout(&mut self.mode.read_timeout, timeout)
            }
            fn read_timeout(&self) -> Result<Option<Duration>, Error> {
                Ok(self.mode.read_timeout)
            }
            fn set_write_timeout(&mut self, timeout: Option<Duration>) -> Result<(), Error> {
                $crate::mode::Mode::set_timeout(&mut self.mode.write_timeout, timeout)
            }
            fn write_timeout(&self) -> Result<Option<Duration>, Error> {
                Ok(self.mode.write_timeout)
            }
        }
    };
}
pub(crate) use impl_blocking;
