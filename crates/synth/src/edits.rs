//! Edits a simulated device makes to its datasets: the generator's datasets, keys and values,
//! one change at a time, for clients that sync through the Cognito Sync API (`synclake demo`,
//! the local service's tests and benchmark) rather than writing stream payloads.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::datasets::{Catalog, DATASETS, key_spec};
use super::values::make_value;

/// One change to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The dataset (a name Cognito allows, from the generator's app).
    pub dataset: &'static str,
    /// The record key.
    pub key: String,
    /// The new value; `None` removes the record.
    pub value: Option<String>,
}

/// A deterministic source of [`Edit`]s: the same seed gives the same edits.
pub struct Edits {
    rng: ChaCha8Rng,
    catalog: Catalog,
    key: Vec<u8>,
    value: Vec<u8>,
    aux: Vec<u8>,
    /// Per mille of edits that remove the record instead.
    removals: u32,
}

impl Edits {
    /// Edits from `seed`, 5 % of them removals.
    pub fn new(seed: u64) -> Edits {
        Edits {
            rng: ChaCha8Rng::seed_from_u64(seed),
            catalog: Catalog::new(),
            key: Vec::new(),
            value: Vec::new(),
            aux: Vec::new(),
            removals: 50,
        }
    }

    /// The next edit, with values timed around `now_ms`. Keys are drawn from the first 32 of
    /// each dataset, so that devices come back to the same records (and conflict on them).
    pub fn next_edit(&mut self, now_ms: i64) -> Edit {
        let ds = self.catalog.pick(&mut self.rng, false);
        let dataset = &DATASETS[ds];
        let k = self.rng.random_range(0..self.catalog.key_total(ds).min(32));
        let spec = key_spec(dataset, k, &mut self.key);
        let key = String::from_utf8_lossy(&self.key).into_owned();
        if self.rng.random_range(0..1000) < self.removals {
            return Edit {
                dataset: dataset.name,
                key,
                value: None,
            };
        }
        self.value.clear();
        // make_value only fails on a generator bug; an empty value is still a valid edit.
        let _ = make_value(&mut self.rng, spec.kind, now_ms, &mut self.value, &mut self.aux);
        Edit {
            dataset: dataset.name,
            key,
            value: Some(String::from_utf8_lossy(&self.value).into_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Edits;

    #[test]
    fn edits_are_deterministic_and_valid() {
        let (mut a, mut b) = (Edits::new(7), Edits::new(7));
        let mut removals = 0;
        for _ in 0..500 {
            let (x, y) = (a.next_edit(1_700_000_000_000), b.next_edit(1_700_000_000_000));
            assert_eq!(x, y);
            assert!(!x.key.is_empty() && x.key.len() <= 1024);
            assert!(
                x.dataset
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"_.:-".contains(&c))
            );
            removals += usize::from(x.value.is_none());
        }
        assert!(removals > 0 && removals < 100, "{removals}");
    }
}
