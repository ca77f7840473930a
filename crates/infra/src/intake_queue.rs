//! The in-process queue of intakes per pool: concurrent intakes for one (product, region)
//! join the batch that is forming, and one drainer per pool writes them batch by batch
//! (`intake_batch`).
//!
//! Invariants:
//! - per pool key, at most one drainer runs at a time: the intake that finds no drainer
//!   starts one ([`IntakeQueues::enqueue`] says so), every other one only waits for its
//!   reply;
//! - a drainer takes the waiting intakes in arrival order, at most [`MAX_BATCH`] at a time
//!   ([`IntakeQueues::take`]), so a batch decides in the order a sequence of single
//!   intakes would have;
//! - the drainer leaves only when the queue is empty, under the same lock that admits new
//!   intakes ([`IntakeQueues::finish`]), so no intake waits without a drainer; a drainer
//!   that ends otherwise (a panic) drops the pool's queue, and its waiting intakes are
//!   answered with a storage failure instead of waiting forever ([`Draining`]);
//! - nothing here orders batches across processes: the pool row's lock does that.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use domain::error::RepoError;
use domain::intake::{IntakeIds, IntakeOutcome};
use domain::lead::NewLead;
use domain::reference::Product;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use uuid::Uuid;

/// The most intakes one batch takes.
pub const MAX_BATCH: usize = 500;

/// A pool: (product id, region).
pub(crate) type PoolKey = (Uuid, String);

/// One intake as its caller asked for it.
pub(crate) struct IntakeRequest {
    pub product: Product,
    pub new: NewLead,
    pub ids: IntakeIds,
    pub provider_org_id: Uuid,
    pub source_id: Uuid,
    pub now: OffsetDateTime,
}

/// An intake waiting for its batch, and where its own outcome goes.
pub(crate) struct Waiting {
    pub request: IntakeRequest,
    pub reply: oneshot::Sender<Result<IntakeOutcome, RepoError>>,
}

impl Waiting {
    /// Sends the intake its outcome (a caller that stopped waiting is not an error).
    pub(crate) fn answer(self, outcome: Result<IntakeOutcome, RepoError>) {
        let _ = self.reply.send(outcome);
    }
}

struct Forming<T> {
    waiting: VecDeque<T>,
}

/// What a queue does with an entry nobody will drain (its drainer stopped early).
pub(crate) trait Abandon {
    fn abandon(self);
}

impl Abandon for Waiting {
    fn abandon(self) {
        self.answer(Err(RepoError::Unavailable("the intake batch stopped".to_owned())));
    }
}

/// The waiting intakes of every pool with a running drainer.
pub(crate) struct IntakeQueues<T = Waiting> {
    pools: Mutex<HashMap<PoolKey, Forming<T>>>,
}

impl<T> Default for IntakeQueues<T> {
    fn default() -> Self {
        Self { pools: Mutex::new(HashMap::new()) }
    }
}

impl<T> std::fmt::Debug for IntakeQueues<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntakeQueues").finish_non_exhaustive()
    }
}

impl<T: Abandon> IntakeQueues<T> {
    fn pools(&self) -> std::sync::MutexGuard<'_, HashMap<PoolKey, Forming<T>>> {
        // A poisoned lock only means a holder panicked between two plain map operations.
        self.pools.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `waiting` for its pool; `true` when no drainer runs for the pool, so the
    /// caller must start one.
    pub(crate) fn enqueue(&self, key: &PoolKey, waiting: T) -> bool {
        let mut pools = self.pools();
        match pools.get_mut(key) {
            Some(forming) => {
                forming.waiting.push_back(waiting);
                false
            }
            None => {
                pools.insert(key.clone(), Forming { waiting: VecDeque::from([waiting]) });
                true
            }
        }
    }

    /// How many intakes wait for the pool's next batch.
    pub(crate) fn waiting(&self, key: &PoolKey) -> usize {
        self.pools().get(key).map_or(0, |f| f.waiting.len())
    }

    /// The next batch of the pool: up to `max` waiting intakes, oldest first.
    fn take(&self, key: &PoolKey, max: usize) -> Vec<T> {
        let mut pools = self.pools();
        let Some(forming) = pools.get_mut(key) else { return Vec::new() };
        let n = forming.waiting.len().min(max);
        forming.waiting.drain(..n).collect()
    }

    /// Whether the drainer has more to do; when not, the pool leaves the map (the next
    /// intake starts a new drainer).
    fn finish(&self, key: &PoolKey) -> bool {
        let mut pools = self.pools();
        if pools.get(key).is_some_and(|f| !f.waiting.is_empty()) {
            return true;
        }
        pools.remove(key);
        false
    }

    /// Drops the pool's queue: its waiting intakes are answered with a failure.
    fn abandon(&self, key: &PoolKey) {
        let forming = self.pools().remove(key);
        if let Some(forming) = forming {
            forming.waiting.into_iter().for_each(Abandon::abandon);
        }
    }
}

/// A running drainer's hold on its pool: dropped before [`Draining::finished`] said so (a
/// panic), it abandons the pool's queue.
pub(crate) struct Draining<T: Abandon = Waiting> {
    queues: Arc<IntakeQueues<T>>,
    key: PoolKey,
    done: bool,
}

impl<T: Abandon> Draining<T> {
    pub(crate) fn new(queues: Arc<IntakeQueues<T>>, key: PoolKey) -> Self {
        Self { queues, key, done: false }
    }

    pub(crate) fn key(&self) -> &PoolKey {
        &self.key
    }

    /// The next batch: up to `max` waiting intakes, oldest first (empty when none waits).
    pub(crate) fn take(&self, max: usize) -> Vec<T> {
        self.queues.take(&self.key, max)
    }

    /// Whether the queue is empty now; when so, the drainer is done (see
    /// [`IntakeQueues::finish`]).
    pub(crate) fn finished(&mut self) -> bool {
        self.done = !self.queues.finish(&self.key);
        self.done
    }
}

impl<T: Abandon> Drop for Draining<T> {
    fn drop(&mut self) {
        if !self.done {
            self.queues.abandon(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for a waiting intake: its reply says whether it was abandoned.
    struct Item(oneshot::Sender<bool>);

    impl Abandon for Item {
        fn abandon(self) {
            let _ = self.0.send(true);
        }
    }

    fn item() -> (Item, oneshot::Receiver<bool>) {
        let (tx, rx) = oneshot::channel();
        (Item(tx), rx)
    }

    #[test]
    fn the_first_intake_starts_the_drainer_and_the_rest_join_its_batch() {
        let queues = Arc::new(IntakeQueues::default());
        let key = (Uuid::nil(), "서울".to_owned());
        let (a, _ra) = item();
        let (b, _rb) = item();
        let (c, _rc) = item();
        assert!(queues.enqueue(&key, a), "no drainer yet");
        assert!(!queues.enqueue(&key, b), "joins");
        assert!(!queues.enqueue(&key, c), "joins");
        let mut draining = Draining::new(Arc::clone(&queues), key.clone());
        assert_eq!(queues.waiting(&key), 3);
        assert_eq!(draining.take(2).len(), 2, "at most max, oldest first");
        assert!(!draining.finished(), "one is still waiting");
        assert_eq!(draining.take(2).len(), 1);
        assert!(draining.finished());
        drop(draining);
        let (d, _rd) = item();
        assert!(queues.enqueue(&key, d), "the drainer left: the next intake starts one");
    }

    #[test]
    fn a_drainer_that_stops_early_answers_its_waiting_intakes() {
        let queues = Arc::new(IntakeQueues::default());
        let key = (Uuid::nil(), String::new());
        let (a, _ra) = item();
        let (b, mut rb) = item();
        assert!(queues.enqueue(&key, a));
        assert!(!queues.enqueue(&key, b));
        let draining = Draining::new(Arc::clone(&queues), key.clone());
        assert_eq!(draining.take(1).len(), 1);
        drop(draining);
        assert_eq!(rb.try_recv(), Ok(true), "abandoned, not left waiting");
        let (c, _rc) = item();
        assert!(queues.enqueue(&key, c), "the pool starts afresh");
    }
}
