//! The first of two futures: the one combinator the drivers need, without an executor crate.

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

/// Which of the two futures of [`first`] completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Either<A, B> {
    /// The first one, with its output.
    First(A),
    /// The second one, with its output.
    Second(B),
}

/// Awaits both futures and returns the output of whichever completes first, dropping the
/// other. When both are ready in the same poll, the first wins (so a datagram that arrived
/// at its deadline is not lost).
///
/// Cancel-safe if both futures are.
pub async fn first<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    poll_fn(|cx| {
        if let Poll::Ready(out) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::First(out));
        }
        if let Poll::Ready(out) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Second(out));
        }
        Poll::Pending
    })
    .await
}
