//! `Backoff`: how long to wait before retry number `attempt` — exponential
//! from `base_ms`, capped at `cap_ms`, with full jitter (a uniform draw
//! from zero to that ceiling) so that many failing parts do not retry in
//! lockstep.

use crate::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    base_ms: u64,
    cap_ms: u64,
}

/// A backoff that cannot be: a configuration to correct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BackoffError {
    #[error("the base delay must be at least 1 ms")]
    ZeroBase,
    #[error("the cap ({cap_ms} ms) must not be below the base ({base_ms} ms)")]
    CapBelowBase { base_ms: u64, cap_ms: u64 },
}

impl Backoff {
    pub fn new(base_ms: u64, cap_ms: u64) -> Result<Self, BackoffError> {
        if base_ms == 0 {
            return Err(BackoffError::ZeroBase);
        }
        if cap_ms < base_ms {
            return Err(BackoffError::CapBelowBase { base_ms, cap_ms });
        }
        Ok(Backoff { base_ms, cap_ms })
    }

    /// The longest wait before retry `attempt` (0 for the first).
    pub fn ceiling_ms(&self, attempt: u32) -> u64 {
        let factor = 1u64.checked_shl(attempt.min(63)).unwrap_or(u64::MAX);
        self.base_ms.saturating_mul(factor).min(self.cap_ms)
    }

    /// A jittered wait in `0..=ceiling_ms(attempt)`.
    pub fn delay_ms(&self, attempt: u32, rng: &mut Rng) -> u64 {
        let ceiling = self.ceiling_ms(attempt);
        (rng.uniform() * (ceiling as f64 + 1.0))
            .floor()
            .min(ceiling as f64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_to_the_cap() {
        let b = Backoff::new(1000, 60_000).unwrap();
        let ceilings: Vec<u64> = (0..8).map(|a| b.ceiling_ms(a)).collect();
        assert_eq!(
            ceilings,
            vec![1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]
        );
        assert_eq!(b.ceiling_ms(u32::MAX), 60_000);
        assert_eq!(Backoff::new(0, 1), Err(BackoffError::ZeroBase));
        assert_eq!(
            Backoff::new(10, 5),
            Err(BackoffError::CapBelowBase {
                base_ms: 10,
                cap_ms: 5
            })
        );
    }

    #[test]
    fn jitter_stays_within_the_ceiling_and_spreads() {
        let b = Backoff::new(100, 10_000).unwrap();
        let mut rng = Rng::new(7);
        for attempt in 0..20 {
            let draws: Vec<u64> = (0..200).map(|_| b.delay_ms(attempt, &mut rng)).collect();
            let ceiling = b.ceiling_ms(attempt);
            assert!(draws.iter().all(|d| *d <= ceiling));
            let mean = draws.iter().sum::<u64>() as f64 / draws.len() as f64;
            assert!(
                mean > ceiling as f64 * 0.35 && mean < ceiling as f64 * 0.65,
                "{attempt}: {mean}"
            );
        }
    }
}
