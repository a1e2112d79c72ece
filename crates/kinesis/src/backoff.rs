//! Exponential backoff with full jitter, for throttling and transient failures.

use std::time::Duration;

use rand::Rng as _;

/// Backoff bounds.
#[derive(Debug, Clone, Copy)]
pub struct BackoffOptions {
    /// The ceiling of the first wait.
    pub base: Duration,
    /// The largest ceiling.
    pub max: Duration,
}

impl Default for BackoffOptions {
    fn default() -> Self {
        BackoffOptions {
            base: Duration::from_millis(200),
            max: Duration::from_secs(20),
        }
    }
}

/// Successive waits: the `n`th is uniform in `[0, min(max, base · 2ⁿ)]` ("full jitter"), so that
/// workers throttled together do not retry together.
#[derive(Debug, Clone)]
pub struct Backoff {
    opts: BackoffOptions,
    attempt: u32,
}

impl Backoff {
    /// A backoff at its first attempt.
    pub fn new(opts: BackoffOptions) -> Self {
        Backoff { opts, attempt: 0 }
    }

    /// Failures in a row so far.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// The next wait, growing the ceiling.
    pub fn next_wait(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }

    /// Waits the next wait.
    pub async fn wait(&mut self) {
        tokio::time::sleep(self.next_wait()).await;
    }

    /// Back to the first attempt, after a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(20)).unwrap_or(u32::MAX);
        self.opts.base.saturating_mul(factor).min(self.opts.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_to_the_ceiling_and_reset() {
        let mut b = Backoff::new(BackoffOptions {
            base: Duration::from_millis(100),
            max: Duration::from_millis(1000),
        });
        let ceilings: Vec<Duration> = (0..6)
            .map(|_| {
                let c = b.ceiling();
                assert!(b.next_wait() <= c);
                c
            })
            .collect();
        let millis: Vec<u128> = ceilings.iter().map(Duration::as_millis).collect();
        assert_eq!(millis, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.attempts(), 6);
        b.reset();
        assert_eq!(b.ceiling(), Duration::from_millis(100));
    }
}
