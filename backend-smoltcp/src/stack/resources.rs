//! The socket table's memory for a program without an allocator.

use managed::ManagedSlice;
use smoltcp::iface::SocketStorage;

/// Room for `SOCKETS` sockets in a [`Stack`](crate::Stack)'s table, for programs without an
/// allocator: make it `static` and hand the stack a `&mut` of it.
///
/// [`new`](Self::new) is `const` and leaves the table uninitialised until
/// [`Stack::new`](crate::Stack::new) takes it, so a static of it lives in `.bss`: it costs
/// RAM and no flash, where a static `[SocketStorage::EMPTY; N]` (not all zeros) would keep
/// its image in flash. With `static_cell`:
///
/// ```
/// use portsock_smoltcp::{Config, ManualPlatform, Stack, StackResources};
/// use smoltcp::phy::{Loopback, Medium};
/// use static_cell::ConstStaticCell;
///
/// static RESOURCES: ConstStaticCell<StackResources<'static, 4>> =
///     ConstStaticCell::new(StackResources::new());
///
/// let config = Config::new([2, 0, 0, 0, 0, 1]);
/// let device = Loopback::new(Medium::Ethernet);
/// let stack = Stack::new(&config, device, ManualPlatform::default(), RESOURCES.take())?;
/// stack.add_tcp_sockets(3, 1024, 1024)?;
/// stack.add_udp_sockets(1, 2, 512)?;
/// // Room for four sockets, no more.
/// assert_eq!(
///     stack.add_udp_sockets(1, 2, 512),
///     Err(portsock_smoltcp::StackError::TooManySockets)
/// );
/// # Ok::<(), portsock_smoltcp::StackError>(())
/// ```
pub struct StackResources<'a, const SOCKETS: usize> {
    sockets: heapless::Vec<SocketStorage<'a>, SOCKETS>,
}

impl<const SOCKETS: usize> StackResources<'_, SOCKETS> {
    /// An empty table, built at compile time.
    pub const fn new() -> Self {
        Self {
            sockets: heapless::Vec::new(),
        }
    }
}

impl<const SOCKETS: usize> Default for StackResources<'_, SOCKETS> {
    fn default() -> Self {
        Self::new()
    }
}

/// The table, each entry empty: what [`Stack::new`](crate::Stack::new) takes.
impl<'a, const SOCKETS: usize> From<&'a mut StackResources<'a, SOCKETS>>
    for ManagedSlice<'a, SocketStorage<'a>>
{
    fn from(resources: &'a mut StackResources<'a, SOCKETS>) -> Self {
        let sockets = &mut resources.sockets;
        sockets.clear();
        // One entry at a time: the table is never built whole on the stack.
        while sockets.push(SocketStorage::EMPTY).is_ok() {}
        ManagedSlice::Borrowed(sockets.as_mut_slice())
    }
}
