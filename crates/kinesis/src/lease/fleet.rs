//! [`Fleet`]: what the run loop of a worker sharing a lease table calls — the heartbeat task,
//! the periodic scan that takes leases, the events that stop a shard, the releases.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::LeaseOptions;
use super::balance::{Observer, plan};
use super::item::Lease;
use super::store::{LeaseStore, Renewal};
use super::table::{Binding, LeaseTable, Write};
use crate::checkpoint::{CheckpointError, ShardState, new_state_id};
use crate::client::Stream;
use crate::metrics::LeaseMetrics;
use crate::shards::{ShardInfo, readable};

/// What the heartbeat found that the run loop must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseEvent {
    /// The lease is gone: stop the shard's worker (its writes are refused already).
    Lost {
        /// The shard.
        shard: String,
        /// The holding it was lost from (a later holding of the same shard is not affected).
        epoch: u64,
    },
    /// Another worker asked for the lease: stop the shard's worker, then hand it over.
    Asked {
        /// The shard.
        shard: String,
        /// The worker that asked.
        by: String,
    },
}

/// The leases after a scan: every shard's state, and the leases just taken.
#[derive(Debug, Default)]
pub struct Balanced {
    /// Every lease's state (the taken ones as taken).
    pub states: HashMap<String, ShardState>,
    /// Shards taken in this round.
    pub taken: Vec<String>,
}

/// One worker's part in a fleet sharing a lease table.
pub struct Fleet {
    store: Arc<LeaseStore>,
    state_id: String,
    observer: Observer,
    events_tx: mpsc::UnboundedSender<LeaseEvent>,
    events: mpsc::UnboundedReceiver<LeaseEvent>,
    heartbeat: Option<JoinHandle<()>>,
    asked: HashMap<String, String>,
}

impl Fleet {
    /// Opens (creating) the lease table and binds it to `stream` and `output`: a table bound to
    /// another stream incarnation or output is refused.
    pub async fn open(
        opts: &LeaseOptions,
        region: Option<&str>,
        stream: &Stream,
        output: &str,
        metrics: Arc<LeaseMetrics>,
    ) -> Result<Fleet, CheckpointError> {
        let client = super::connect(opts.endpoint_url.as_deref(), region, opts.duration).await;
        let table = LeaseTable::new(client, &opts.table, metrics.clone());
        table.ensure().await?;
        let bound = table
            .bind(&Binding {
                stream_arn: stream.arn.clone(),
                stream_created_ms: stream.created_ms,
                output: output.to_owned(),
                state_id: new_state_id(),
            })
            .await?;
        let differs = |field, recorded: String, given: String| CheckpointError::LeaseTableBound {
            table: opts.table.clone(),
            field,
            recorded,
            given,
        };
        if bound.stream_arn != stream.arn {
            return Err(differs("stream", bound.stream_arn, stream.arn.clone()));
        }
        if bound.stream_created_ms != stream.created_ms {
            return Err(differs(
                "the stream created at (epoch ms; it was deleted and re-created since)",
                bound.stream_created_ms.to_string(),
                stream.created_ms.to_string(),
            ));
        }
        if bound.output != output {
            return Err(differs("output", bound.output, output.to_owned()));
        }
        metrics.enabled.store(true, Ordering::Relaxed);
        let worker = worker_id(opts.worker_id.as_deref());
        tracing::info!(table = %opts.table, %worker, lease_duration_ms = opts.duration.as_millis() as u64,
            "sharing the stream through the lease table");
        let (events_tx, events) = mpsc::unbounded_channel();
        Ok(Fleet {
            store: Arc::new(LeaseStore::new(table, worker, opts.duration)),
            state_id: bound.state_id,
            observer: Observer::default(),
            events_tx,
            events,
            heartbeat: None,
            asked: HashMap::new(),
        })
    }

    /// The store the shard workers save through.
    pub fn store(&self) -> Arc<LeaseStore> {
        self.store.clone()
    }

    /// The identity the table's writer marker names: the same for every worker of the table.
    pub fn state_id(&self) -> &str {
        &self.state_id
    }

    /// Whether this worker holds `shard`.
    pub fn holds(&self, shard: &str) -> bool {
        self.store.holds(shard)
    }

    /// Whether a `Lost` event of holding `epoch` is about the current holding of `shard`.
    pub fn is_current(&self, shard: &str, epoch: u64) -> bool {
        self.store.epoch(shard) == Some(epoch)
    }

    /// Whether `shard` is being handed over (its worker must not be started again).
    pub fn handing_over(&self, shard: &str) -> bool {
        self.asked.contains_key(shard)
    }

    /// Starts the heartbeat: every quarter of the lease duration, each held lease is renewed
    /// (all at once); a lease lost or asked for becomes an event.
    pub fn start_heartbeat(&mut self) {
        let (store, events) = (self.store.clone(), self.events_tx.clone());
        let every = store.duration() / 4;
        self.heartbeat = Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let held: Vec<(String, Option<u64>)> =
                    store.held().into_iter().map(|s| (s.clone(), store.epoch(&s))).collect();
                // Each lease on its own call, each call bounded by the client's timeouts.
                let renewals = futures::future::join_all(held.iter().map(|(shard, _)| store.renew(shard))).await;
                for ((shard, epoch), renewal) in held.into_iter().zip(renewals) {
                    let event = match (renewal, epoch) {
                        (Renewal::Held { handoff_to: Some(by) }, _) => LeaseEvent::Asked { shard, by },
                        (Renewal::Held { handoff_to: None } | Renewal::NotHeld, _) | (Renewal::Lost, None) => continue,
                        (Renewal::Lost, Some(epoch)) => LeaseEvent::Lost { shard, epoch },
                        (Renewal::Failed(error), _) => {
                            tracing::warn!(%shard, %error, "renewing the lease failed; trying again");
                            continue;
                        }
                    };
                    if events.send(event).is_err() {
                        return;
                    }
                }
            }
        }));
    }

    /// The next event; never resolves while there is none.
    pub async fn next_event(&mut self) -> LeaseEvent {
        match self.events.recv().await {
            Some(event) => event,
            None => std::future::pending().await,
        }
    }

    /// Records that `shard` is being handed to `by` (its worker is stopping). False if it was
    /// already.
    pub fn asked(&mut self, shard: &str, by: &str) -> bool {
        if self.asked.contains_key(shard) {
            return false;
        }
        tracing::info!(%shard, to = by, "another worker asked for the lease: flushing, then handing it over");
        self.asked.insert(shard.to_owned(), by.to_owned());
        true
    }

    /// Records that `shard`'s lease was lost (counted and logged once); `stopped`: its worker
    /// is not running (any more), so the lease is forgotten and may be taken again later.
    pub fn lost(&mut self, shard: &str, why: &str, stopped: bool) {
        self.asked.remove(shard);
        if self.store.report_loss(shard) {
            self.store.table().metrics().lost.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%shard, reason = why, "lost the lease: another worker reads the shard on from its checkpoint");
        }
        if stopped {
            self.store.forget(shard);
        }
        let metrics = self.store.table().metrics();
        metrics.owned.store(self.live() as u64, Ordering::Relaxed);
    }

    /// After `shard`'s worker stopped, for whatever reason (`why`, if it was the lease): a
    /// lost lease is forgotten.
    pub fn worker_stopped(&mut self, shard: &str, why: &str) {
        if self.store.is_lost(shard) {
            self.lost(shard, why, true);
        }
    }

    fn live(&self) -> usize {
        self.store.held().iter().filter(|s| !self.store.is_lost(s)).count()
    }

    /// After the shard's worker stopped: hands the lease over if it was asked for. True if so.
    pub async fn stopped(&mut self, shard: &str) -> Result<bool, CheckpointError> {
        let Some(to) = self.asked.remove(shard) else {
            return Ok(false);
        };
        if !self.store.holds(shard) || self.store.is_lost(shard) {
            return Ok(false);
        }
        self.release(shard, Some(&to)).await?;
        self.store.table().metrics().handed_off.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }

    /// Gives `shard` up (to `to`, or to any worker).
    pub async fn release(&mut self, shard: &str, to: Option<&str>) -> Result<(), CheckpointError> {
        self.asked.remove(shard);
        self.store.release(shard, to).await?;
        let metrics = self.store.table().metrics();
        metrics.owned.store(self.live() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Releases every lease held (at shutdown, once the workers stopped), so that others take
    /// them at once instead of after the lease duration — except `unsettled`: shards whose
    /// workers were aborted mid-flush, whose commits may still land; those leases expire.
    pub async fn release_all(&mut self, unsettled: &HashSet<String>) {
        if let Some(beat) = self.heartbeat.take() {
            beat.abort();
        }
        for shard in self.store.held() {
            if unsettled.contains(&shard) {
                tracing::warn!(%shard, "not releasing the lease of a shard whose worker was cut off: it expires");
                continue;
            }
            if let Err(error) = self.release(&shard, None).await {
                tracing::warn!(%shard, %error, "could not release the lease; others take it once it expires");
            }
        }
        // Leases handed to this worker and not taken up yet, and its open requests: let go of
        // both, so that none waits for this worker to expire.
        let table = self.store.table();
        let me = self.store.worker().to_owned();
        let Ok(leases) = table.scan().await else { return };
        for lease in leases {
            let outcome = if lease.owner.as_deref() == Some(me.as_str()) && !unsettled.contains(&lease.shard) {
                table.release(&lease.shard, &me, lease.counter, None).await
            } else if lease.handoff_to.as_deref() == Some(me.as_str()) {
                table.withdraw_handoff(&lease.shard, &me).await
            } else {
                continue;
            };
            if let Err(error) = outcome {
                tracing::warn!(shard = %lease.shard, %error, "could not let go of a lease handed to or asked by this worker");
            }
        }
    }

    /// One round: scans the table, creates leases for listed shards without one, takes free and
    /// expired leases up to the fair share, and asks the busiest worker for one if still short.
    /// Fails only if the scan (or a lease creation) does, before anything is taken.
    pub async fn balance(&mut self, shards: &[ShardInfo]) -> Result<Balanced, CheckpointError> {
        let table = self.store.table();
        let mut leases = table.scan().await?;
        let known: HashSet<String> = leases.iter().map(|l| l.shard.clone()).collect();
        for shard in shards.iter().filter(|s| !known.contains(&s.id)) {
            if !table.create(&shard.id, &shard.parents).await? {
                // There is an item, one the scan skipped (not a lease) or made since: not free.
                continue;
            }
            tracing::debug!(shard = %shard.id, "created the shard's lease");
            leases.push(Lease {
                shard: shard.id.clone(),
                owner: None,
                counter: 0,
                state: ShardState::default(),
                parents: shard.parents.clone(),
                handoff_to: None,
                taken_from: None,
                taken_epoch: None,
            });
        }
        let now = Instant::now();
        self.observer.observe(&leases, now);
        let mut states: HashMap<String, ShardState> =
            leases.iter().map(|l| (l.shard.clone(), l.state.clone())).collect();
        let active: HashSet<&str> = readable(shards, &states).into_iter().map(|s| s.id.as_str()).collect();
        let duration = self.store.duration();
        let expired: HashSet<&str> = leases
            .iter()
            .filter(|l| self.observer.expired(l, now, duration))
            .map(|l| l.shard.as_str())
            .collect();
        let held: HashSet<String> = self.store.held().into_iter().collect();
        let me = self.store.worker().to_owned();
        let decided = plan(&me, &held, &leases, &active, &expired);
        let mut taken = Vec::new();
        for shard in &decided.take {
            let Some(lease) = leases.iter().find(|l| &l.shard == shard) else {
                continue;
            };
            // A failed take is not the round's failure: what was taken stays taken.
            let state = match self.store.take(lease).await {
                Ok(Some(state)) => state,
                Ok(None) => {
                    tracing::debug!(%shard, "another worker took the lease first");
                    continue;
                }
                Err(error) => {
                    tracing::warn!(%shard, %error, "taking the lease failed; trying again at the next scan");
                    continue;
                }
            };
            let metrics = table.metrics();
            metrics.acquired.fetch_add(1, Ordering::Relaxed);
            match lease.owner.as_deref() {
                Some(owner) if owner != me => {
                    metrics.takeovers.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%shard, previous_owner = owner, checkpoint = ?state.checkpoint,
                        pending_files = state.pending.as_ref().map_or(0, |p| p.keys.len()),
                        "took over an expired lease");
                }
                Some(_) => tracing::info!(%shard, checkpoint = ?state.checkpoint, "took the lease handed over"),
                None => tracing::info!(%shard, checkpoint = ?state.checkpoint, "took a free lease"),
            }
            states.insert(shard.clone(), state);
            taken.push(shard.clone());
        }
        if let Some(shard) = &decided.ask
            && let Some(lease) = leases.iter().find(|l| &l.shard == shard)
        {
            match table.request_handoff(lease, &me).await {
                Ok(Write::Done(_)) => {
                    tracing::info!(%shard, owner = ?lease.owner, "asked the busiest worker for a lease")
                }
                Ok(Write::Conflict) => {
                    tracing::debug!(%shard, "the lease changed hands or was asked for first; asking again later")
                }
                Err(error) => {
                    tracing::warn!(%shard, %error, "asking for the lease failed; trying again at the next scan")
                }
            }
        }
        table.metrics().owned.store(self.live() as u64, Ordering::Relaxed);
        Ok(Balanced { states, taken })
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if let Some(beat) = self.heartbeat.take() {
            beat.abort();
        }
    }
}

/// `<name>#<random>`, the name given or `<host>:<pid>`: unique per process even when names
/// are reused (a pod name), so that a restarted worker never takes the leases of its previous
/// life for its own — they expire first, and its previous life may still be committing.
fn worker_id(name: Option<&str>) -> String {
    use rand::Rng as _;
    let tag: u32 = rand::rng().random();
    match name {
        Some(name) => format!("{name}#{tag:08x}"),
        None => format!("{}:{}#{tag:08x}", crate::fence::host_name(), std::process::id()),
    }
}
