//! [`LeaseStore`]: the leases this worker holds, and the [`CheckpointStore`] over them whose
//! every save is fenced by the lease counter.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

use super::item::{self, Lease};
use super::table::{LeaseTable, Write};
use crate::checkpoint::{CheckpointError, CheckpointStore, ShardState};

/// A lease this worker holds, as it last wrote it.
#[derive(Debug)]
struct Held {
    /// The counter the next conditional write names.
    counter: u64,
}

/// A held lease: its epoch (the counter when it was taken, in the names of the files written
/// under it) and its state, written one call at a time.
#[derive(Debug)]
struct Slot {
    epoch: u64,
    held: tokio::sync::Mutex<Held>,
    /// Refused once (or released): never written again. The slot stays until the shard's
    /// worker has stopped, so the lease cannot be taken again under a worker still running.
    lost: AtomicBool,
    /// The loss was counted and logged.
    reported: AtomicBool,
    /// The shard's state as last written by this holder.
    state: Mutex<ShardState>,
    /// Until when, by this worker's clock, no other worker can have taken it: the send time of
    /// the last write that raised the counter, plus the part of the lease duration that leaves
    /// a margin (others wait the whole duration of seeing no change). Readable while a write
    /// holds `held`.
    valid_until: Mutex<Instant>,
}

impl Slot {
    fn lose(&self) {
        self.lost.store(true, Ordering::Relaxed);
    }

    fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    fn valid_until(&self) -> Instant {
        *self
            .valid_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn extend(&self, until: Instant) {
        *self
            .valid_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = until;
    }

    fn set_state(&self, state: &ShardState) {
        *self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = state.clone();
    }
}

/// What a heartbeat found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renewal {
    /// Still held; maybe another worker asked for it.
    Held {
        /// The worker that asked.
        handoff_to: Option<String>,
    },
    /// Lost: taken over, or not renewed in time.
    Lost,
    /// Not held (released or forgotten meanwhile): nothing to do.
    NotHeld,
    /// The call failed, the lease is still valid; try again at the next beat.
    Failed(String),
}

/// The leases of one worker over one lease table.
#[derive(Debug)]
pub struct LeaseStore {
    table: LeaseTable,
    worker: String,
    duration: Duration,
    held: Mutex<HashMap<String, Arc<Slot>>>,
}

impl LeaseStore {
    /// `worker`'s leases in `table`, each lost unless renewed within `duration`.
    pub fn new(table: LeaseTable, worker: impl Into<String>, duration: Duration) -> LeaseStore {
        LeaseStore {
            table,
            worker: worker.into(),
            duration,
            held: Mutex::new(HashMap::new()),
        }
    }

    /// The table.
    pub fn table(&self) -> &LeaseTable {
        &self.table
    }

    /// This worker's id.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// How long a lease lives without a heartbeat.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// The shards held, sorted.
    pub fn held(&self) -> Vec<String> {
        let mut shards: Vec<String> = self.map().keys().cloned().collect();
        shards.sort();
        shards
    }

    /// The epoch of the current holding of `shard`.
    pub fn epoch(&self, shard: &str) -> Option<u64> {
        self.get(shard).map(|slot| slot.epoch)
    }

    /// Whether `shard` is held.
    pub fn holds(&self, shard: &str) -> bool {
        self.map().contains_key(shard)
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Slot>>> {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, shard: &str) -> Option<Arc<Slot>> {
        self.map().get(shard).cloned()
    }

    fn validity(&self, sent: Instant) -> Instant {
        sent + self.duration.mul_f64(0.75)
    }

    /// Takes `lease` (as observed in a scan) for this worker; its state if taken, `None` if
    /// another worker changed it first.
    pub async fn take(&self, lease: &Lease) -> Result<Option<ShardState>, CheckpointError> {
        if self.holds(&lease.shard) {
            // Still held, or lost while its worker has not stopped yet: taken again only after.
            return Ok(None);
        }
        let sent = Instant::now();
        match self.table.take(lease, &self.worker).await? {
            Write::Done(now) => {
                let held = Held { counter: now.counter };
                let slot = Slot {
                    epoch: now.counter,
                    held: tokio::sync::Mutex::new(held),
                    lost: AtomicBool::new(false),
                    reported: AtomicBool::new(false),
                    state: Mutex::new(now.state.clone()),
                    valid_until: Mutex::new(self.validity(sent)),
                };
                self.map().insert(lease.shard.clone(), Arc::new(slot));
                Ok(Some(now.state))
            }
            Write::Conflict => Ok(None),
        }
    }

    /// A heartbeat for `shard`.
    pub async fn renew(&self, shard: &str) -> Renewal {
        let Some(slot) = self.get(shard) else {
            return Renewal::NotHeld;
        };
        let mut held = slot.held.lock().await;
        if slot.is_lost() {
            return Renewal::Lost;
        }
        let sent = Instant::now();
        match self.table.renew(shard, &self.worker, held.counter).await {
            Ok(Write::Done(now)) => {
                held.counter = now.counter;
                slot.extend(self.validity(sent));
                Renewal::Held {
                    handoff_to: now.handoff_to,
                }
            }
            Ok(Write::Conflict) => {
                // An earlier attempt may have landed with its answer lost (the SDK retried):
                // then the lease is ours, one count up, as KCL checks.
                match self.table.get(shard).await {
                    Ok(Some(now)) if now.owner.as_deref() == Some(&self.worker) && now.counter == held.counter + 1 => {
                        held.counter = now.counter;
                        slot.extend(self.validity(sent));
                        Renewal::Held {
                            handoff_to: now.handoff_to,
                        }
                    }
                    _ => {
                        slot.lose();
                        Renewal::Lost
                    }
                }
            }
            Err(e) if Instant::now() >= slot.valid_until() => {
                slot.lose();
                tracing::warn!(%shard, error = %e, "could not renew the lease in time");
                Renewal::Lost
            }
            Err(e) => Renewal::Failed(e.to_string()),
        }
    }

    /// Forgets `shard` once its worker stopped; false if it was not held.
    pub fn forget(&self, shard: &str) -> bool {
        self.map().remove(shard).is_some()
    }

    /// Whether `shard`'s lease was lost (and is held no more, whatever the table says).
    pub fn is_lost(&self, shard: &str) -> bool {
        self.get(shard).is_some_and(|slot| slot.is_lost())
    }

    /// Marks the loss of `shard` as reported; true the first time.
    pub fn report_loss(&self, shard: &str) -> bool {
        self.get(shard)
            .is_some_and(|slot| !slot.reported.swap(true, Ordering::Relaxed))
    }

    /// Gives `shard` up, to `to` or free; a lease lost meanwhile is just forgotten.
    pub async fn release(&self, shard: &str, to: Option<&str>) -> Result<(), CheckpointError> {
        let Some(slot) = self.get(shard) else { return Ok(()) };
        let held = slot.held.lock().await;
        self.forget(shard);
        if slot.is_lost() {
            return Ok(());
        }
        slot.lose();
        match self.table.release(shard, &self.worker, held.counter, to).await? {
            Write::Done(_) => tracing::info!(%shard, to = to.unwrap_or("any worker"), "released the lease"),
            Write::Conflict => tracing::info!(%shard, "the lease was taken over before it was released"),
        }
        Ok(())
    }
}

impl CheckpointStore for LeaseStore {
    fn load_all(&self) -> BoxFuture<'_, Result<HashMap<String, ShardState>, CheckpointError>> {
        Box::pin(async move {
            Ok(self
                .table
                .scan()
                .await?
                .into_iter()
                .map(|lease| (lease.shard, lease.state))
                .collect())
        })
    }

    fn save<'a>(&'a self, shard: &'a str, state: &'a ShardState) -> BoxFuture<'a, Result<(), CheckpointError>> {
        Box::pin(async move {
            let lost = |reason| CheckpointError::LeaseLost {
                shard: shard.to_owned(),
                reason,
            };
            let slot = self.get(shard).ok_or_else(|| lost("not held by this worker"))?;
            // The condition on owner and counter is the fence; the local deadline is checked
            // where it matters, before a commit (`may_commit`).
            let held = slot.held.lock().await;
            if slot.is_lost() {
                return Err(lost("taken over or released"));
            }
            let mut held = held;
            let mut written = self.table.save(shard, &self.worker, held.counter, state).await?;
            if let Write::Conflict = written
                && let Some(now) = self.table.get(shard).await?
                && now.owner.as_deref() == Some(self.worker.as_str())
                && now.counter == held.counter + 1
            {
                // A heartbeat landed with its answer lost: the lease is still ours.
                held.counter = now.counter;
                written = self.table.save(shard, &self.worker, held.counter, state).await?;
            }
            match written {
                Write::Done(_) => {
                    slot.set_state(state);
                    Ok(())
                }
                Write::Conflict => {
                    slot.lose();
                    Err(lost("refused by the lease table: another worker took it"))
                }
            }
        })
    }

    fn file_epoch(&self, shard: &str) -> Option<u64> {
        self.epoch(shard)
    }

    fn may_commit(&self, shard: &str) -> Result<(), CheckpointError> {
        let lost = |reason| CheckpointError::LeaseLost {
            shard: shard.to_owned(),
            reason,
        };
        let slot = self.get(shard).ok_or_else(|| lost("not held by this worker"))?;
        if slot.is_lost() {
            return Err(lost("taken over or released"));
        }
        if Instant::now() >= slot.valid_until() {
            // Others may be about to take it: files committed now could land after they began.
            slot.lose();
            return Err(lost("not renewed in time"));
        }
        Ok(())
    }

    fn held_state(&self, shard: &str) -> Option<ShardState> {
        self.get(shard).map(|slot| {
            slot.state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
        })
    }

    fn redone_after<'a>(&'a self, shard: &'a str, last: &'a str) -> BoxFuture<'a, Result<bool, CheckpointError>> {
        Box::pin(async move {
            let Some(lease) = self.table.get(shard).await? else {
                return Ok(false);
            };
            // The latest take is this holding's own: nobody took it since, so nobody read on
            // from it; if the checkpoint did not land, its pending intent names these files and
            // the next holder deletes them.
            if lease.taken_epoch.is_some() && lease.taken_epoch == self.epoch(shard) {
                return Ok(false);
            }
            // The latest take began at `taken_from`: if that is before `last`, this holder's
            // checkpoint never landed (a holder after it would have begun at or after `last`).
            Ok(match lease.taken_from.as_deref() {
                None | Some(item::SHARD_END) => false,
                Some(from) if from.is_empty() || !from.bytes().all(|b| b.is_ascii_digit()) => true,
                Some(from) => !item::at_or_after(from, last),
            })
        })
    }
}
