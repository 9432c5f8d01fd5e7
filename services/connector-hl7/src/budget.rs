//! The connector-wide budget of message bytes in flight: read from a sender, not yet answered.
//!
//! Each connection's `max_in_flight` caps its message count, but not its bytes, and a county has
//! many connections: 64 connections pipelining 256 messages of 4 MiB would be 64 GiB. So a frame
//! takes its size from this budget before it is submitted and gives it back once its ACK is
//! written. When the budget is spent, connections stop reading (TCP back-pressure slows the
//! senders) until the broker confirms, or the message timeout fails, what is in flight. A frame
//! larger than the whole budget takes all of it and goes alone.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes per semaphore permit (a permit count is a `u32`).
const UNIT: usize = 1024;

/// Shared by every listener of the connector.
#[derive(Debug, Clone)]
pub struct ByteBudget {
    permits: Arc<Semaphore>,
    units: u32,
}

impl ByteBudget {
    /// A budget of `bytes` (at least one unit).
    pub fn new(bytes: usize) -> Self {
        let units = u32::try_from(bytes.div_ceil(UNIT).max(1)).unwrap_or(u32::MAX >> 3);
        Self {
            permits: Arc::new(Semaphore::new(units as usize)),
            units,
        }
    }

    /// Waits until `bytes` fit in the budget and takes them until the permit is dropped.
    pub async fn take(&self, bytes: usize) -> Option<OwnedSemaphorePermit> {
        let wanted = u32::try_from(bytes.div_ceil(UNIT).max(1)).unwrap_or(u32::MAX);
        Arc::clone(&self.permits)
            .acquire_many_owned(wanted.min(self.units))
            .await
            .ok()
    }

    /// Bytes not taken now (for tests and metrics).
    pub fn available(&self) -> usize {
        self.permits.available_permits() * UNIT
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn frames_wait_for_the_bytes_in_flight_and_huge_ones_go_alone() {
        let budget = ByteBudget::new(10 * UNIT);
        let first = budget.take(6 * UNIT).await.unwrap();
        let waiting = tokio::time::timeout(Duration::from_millis(50), budget.take(6 * UNIT)).await;
        assert!(waiting.is_err(), "over budget: must wait");
        drop(first);
        let second = budget.take(6 * UNIT).await.unwrap();
        assert_eq!(budget.available(), 4 * UNIT);
        drop(second);
        let huge = budget.take(1000 * UNIT).await.unwrap();
        assert_eq!(budget.available(), 0);
        drop(huge);
        assert_eq!(budget.available(), 10 * UNIT);
    }
}
