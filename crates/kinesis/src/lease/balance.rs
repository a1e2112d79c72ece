//! Which leases to take: expiry judged by this worker's own clock, and fair shares reached
//! gradually (the Kinesis Client Library's rules, with hand-off instead of stealing).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use rand::seq::SliceRandom as _;
use tokio::time::Instant;

use super::item::Lease;

/// When each lease's counter last changed, as this worker saw it. A lease is expired when its
/// counter has not moved for a whole lease duration: no clocks are compared across machines,
/// as in KCL.
#[derive(Debug, Default)]
pub struct Observer {
    seen: HashMap<String, (u64, Instant)>,
}

impl Observer {
    /// Records a scan's counters at `now`.
    pub fn observe(&mut self, leases: &[Lease], now: Instant) {
        let listed: HashSet<&str> = leases.iter().map(|l| l.shard.as_str()).collect();
        self.seen.retain(|shard, _| listed.contains(shard.as_str()));
        for lease in leases {
            match self.seen.get_mut(&lease.shard) {
                Some((counter, _)) if *counter == lease.counter => {}
                Some(entry) => *entry = (lease.counter, now),
                None => {
                    self.seen.insert(lease.shard.clone(), (lease.counter, now));
                }
            }
        }
    }

    /// Whether `lease` has an owner that let it lapse: no counter change for `duration`.
    pub fn expired(&self, lease: &Lease, now: Instant, duration: Duration) -> bool {
        lease.owner.is_some()
            && self
                .seen
                .get(&lease.shard)
                .is_some_and(|(counter, since)| *counter == lease.counter && now.duration_since(*since) >= duration)
    }
}

/// What to do after a scan.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Leases to take: free or expired ones up to the fair share, and any handed to this worker.
    pub take: Vec<String>,
    /// A lease of the busiest worker to ask for, when nothing free is left and that worker
    /// holds at least two more than this one.
    pub ask: Option<String>,
}

/// The plan of worker `me` holding `held`, given every lease, the ones that may be read now
/// (`active`: not finished, parents done) and the expired ones.
pub fn plan(
    me: &str,
    held: &HashSet<String>,
    leases: &[Lease],
    active: &HashSet<&str>,
    expired: &HashSet<&str>,
) -> Plan {
    let active_leases: Vec<&Lease> = leases.iter().filter(|l| active.contains(l.shard.as_str())).collect();
    if active_leases.is_empty() {
        return Plan::default();
    }
    let mut take: Vec<String> = active_leases
        .iter()
        .filter(|l| l.owner.as_deref() == Some(me) && !held.contains(&l.shard))
        .map(|l| l.shard.clone())
        .collect();
    let mine = active_leases.iter().filter(|l| held.contains(&l.shard)).count() + take.len();
    // Live workers: owners of active leases they keep renewing, and this one.
    let mut load: BTreeMap<&str, Vec<&Lease>> = BTreeMap::new();
    for lease in &active_leases {
        if let Some(owner) = lease.owner.as_deref()
            && owner != me
            && !expired.contains(lease.shard.as_str())
        {
            load.entry(owner).or_default().push(lease);
        }
    }
    let workers = load.len() + 1;
    let target = active_leases.len().div_ceil(workers);
    if mine >= target {
        return Plan { take, ask: None };
    }
    let mut free: Vec<&Lease> = active_leases
        .iter()
        .copied()
        .filter(|l| !held.contains(&l.shard) && l.owner.as_deref() != Some(me))
        .filter(|l| l.owner.is_none() || expired.contains(l.shard.as_str()))
        .collect();
    // Workers starting together take different leases first.
    free.shuffle(&mut rand::rng());
    take.extend(free.iter().take(target - mine).map(|l| l.shard.clone()));
    if !free.is_empty() {
        return Plan { take, ask: None };
    }
    let asking = leases.iter().any(|l| l.handoff_to.as_deref() == Some(me));
    let busiest = load.iter().max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0)));
    let ask = match busiest {
        Some((_, theirs)) if !asking && theirs.len() >= mine + 2 => {
            // Not a shard this worker still settles (its worker stopping after a loss).
            let mut open: Vec<&&Lease> = theirs
                .iter()
                .filter(|l| l.handoff_to.is_none() && !held.contains(&l.shard))
                .collect();
            open.shuffle(&mut rand::rng());
            open.first().map(|l| l.shard.clone())
        }
        _ => None,
    };
    Plan { take, ask }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::ShardState;

    fn lease(shard: usize, owner: Option<&str>) -> Lease {
        Lease {
            shard: format!("shardId-{shard:012}"),
            owner: owner.map(str::to_owned),
            counter: 1,
            state: ShardState::default(),
            parents: Vec::new(),
            handoff_to: None,
            taken_from: None,
            taken_epoch: None,
        }
    }

    fn owned(owners: &[Option<&str>]) -> Vec<Lease> {
        owners.iter().enumerate().map(|(i, o)| lease(i, *o)).collect()
    }

    fn all(leases: &[Lease]) -> HashSet<&str> {
        leases.iter().map(|l| l.shard.as_str()).collect()
    }

    fn held_by(leases: &[Lease], me: &str) -> HashSet<String> {
        leases
            .iter()
            .filter(|l| l.owner.as_deref() == Some(me))
            .map(|l| l.shard.clone())
            .collect()
    }

    #[test]
    fn a_lone_worker_takes_every_free_lease() {
        let leases = owned(&[None; 6]);
        let p = plan("a", &HashSet::new(), &leases, &all(&leases), &HashSet::new());
        assert_eq!(p.take.len(), 6);
        assert_eq!(p.ask, None);
    }

    #[test]
    fn free_leases_are_taken_up_to_the_fair_share_only() {
        // b holds 2; 4 free; a holds none: 2 workers, 6 leases → 3 each.
        let leases = owned(&[Some("b"), Some("b"), None, None, None, None]);
        let p = plan("a", &HashSet::new(), &leases, &all(&leases), &HashSet::new());
        assert_eq!(p.take.len(), 3);
        assert!(
            p.take
                .iter()
                .all(|s| leases.iter().any(|l| &l.shard == s && l.owner.is_none()))
        );
    }

    #[test]
    fn a_newcomer_asks_the_busiest_worker_one_lease_at_a_time() {
        let leases = owned(&[Some("b"), Some("b"), Some("b"), Some("b"), Some("b"), Some("b")]);
        let p = plan("a", &HashSet::new(), &leases, &all(&leases), &HashSet::new());
        assert!(p.take.is_empty());
        let asked = p.ask.expect("asks");
        assert!(
            leases
                .iter()
                .any(|l| l.shard == asked && l.owner.as_deref() == Some("b"))
        );
        // With a request open, it waits for the answer.
        let mut asking = leases.clone();
        asking[0].handoff_to = Some("a".into());
        assert_eq!(
            plan("a", &HashSet::new(), &asking, &all(&asking), &HashSet::new()).ask,
            None
        );
    }

    #[test]
    fn a_fourth_worker_on_six_shards_moves_one_lease_not_more() {
        // 2,2,2 → the newcomer asks (2 >= 0 + 2).
        let leases = owned(&[Some("b"), Some("b"), Some("c"), Some("c"), Some("d"), Some("d")]);
        assert!(
            plan("a", &HashSet::new(), &leases, &all(&leases), &HashSet::new())
                .ask
                .is_some()
        );
        // 1,2,2,1 is as fair as six over four gets: nobody asks.
        let leases = owned(&[Some("a"), Some("b"), Some("c"), Some("c"), Some("d"), Some("d")]);
        for me in ["a", "b"] {
            let p = plan(me, &held_by(&leases, me), &leases, &all(&leases), &HashSet::new());
            assert_eq!(p, Plan::default(), "{me}");
        }
    }

    #[test]
    fn expired_leases_are_taken_and_their_owner_is_not_counted() {
        // c stopped renewing: a and b share its two leases.
        let leases = owned(&[Some("a"), Some("a"), Some("b"), Some("b"), Some("c"), Some("c")]);
        let expired: HashSet<&str> = leases[4..].iter().map(|l| l.shard.as_str()).collect();
        let p = plan("a", &held_by(&leases, "a"), &leases, &all(&leases), &expired);
        assert_eq!(p.take.len(), 1, "target 3 of 6 over 2 live workers");
        assert!(expired.contains(p.take[0].as_str()));
    }

    #[test]
    fn a_lease_handed_over_is_adopted_and_inactive_leases_are_left() {
        let leases = owned(&[Some("a"), Some("b"), None]);
        let active: HashSet<&str> = leases[..2].iter().map(|l| l.shard.as_str()).collect();
        let p = plan("a", &HashSet::new(), &leases, &active, &HashSet::new());
        assert_eq!(
            p.take,
            vec![leases[0].shard.clone()],
            "handed to a; the third is not readable yet"
        );
        let p = plan("a", &held_by(&leases, "a"), &leases, &active, &HashSet::new());
        assert_eq!(p, Plan::default(), "one each of the two readable: fair");
    }

    #[test]
    fn expiry_is_a_whole_duration_without_a_counter_change() {
        let start = Instant::now();
        let d = Duration::from_secs(10);
        let mut o = Observer::default();
        let mut leases = owned(&[Some("b"), None]);
        o.observe(&leases, start);
        assert!(!o.expired(&leases[0], start + Duration::from_secs(9), d));
        assert!(o.expired(&leases[0], start + d, d));
        assert!(
            !o.expired(&leases[1], start + d, d),
            "a free lease is free, not expired"
        );
        leases[0].counter += 1;
        o.observe(&leases, start + d);
        assert!(!o.expired(&leases[0], start + d + Duration::from_secs(9), d), "renewed");
    }
}
