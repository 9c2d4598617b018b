//! Containing a panic of the handler to the loop or connection it happened in.

use std::any::Any;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::task::Poll;

/// Runs `future`, turning a panic while polling it into `Err`. The future is
/// never polled again after a panic; it is dropped, releasing what it held.
pub(crate) async fn catch_panic<F: Future>(future: F) -> Result<F::Output, Box<dyn Any + Send>> {
    let mut future = pin!(future);
    poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => Poll::Ready(Err(panic)),
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_an_error_and_the_state_is_dropped() {
        let held = std::sync::Arc::new(());
        let inside = held.clone();
        let result = catch_panic(async move {
            let _inside = inside;
            tokio::task::yield_now().await;
            panic!("handler bug");
        })
        .await;
        assert!(result.is_err());
        assert_eq!(std::sync::Arc::strong_count(&held), 1);
        assert_eq!(catch_panic(async { 7 }).await.ok(), Some(7));
    }
}
