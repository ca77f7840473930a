//! Group commit: one writer task gathers the entries that concurrent requests hand it and
//! writes them together, so the cost of a commit (a round trip, a WAL flush) is shared.
//!
//! Invariants:
//! - [`GroupCommit::submit`] returns `Ok` only after the [`Sink`] reported the write of
//!   every one of its entries done (the sink writes durably: one autocommitted statement,
//!   or its own transaction), so a caller that waits for it before answering never
//!   answers for an entry that a crash could lose;
//! - a write that fails answers every submitter of that write with the error
//!   ([`Failed::Write`]); a writer that stops without answering (a panic) answers with
//!   [`Failed::WriterGone`]; no submitter is ever told `Ok` for an entry not written;
//! - one write holds at most `max_rows` entries; the writer takes whole submissions only
//!   (a submission is never split across writes, unless it alone is over `max_rows`, and
//!   then it is written in `max_rows` chunks one after the other and succeeds only if all
//!   of them do);
//! - no timer: the writer takes what is queued when it is free. Alone, an entry is written
//!   at once; under load, the entries that arrive during a write share the next one;
//! - before [`GroupCommit::start`] and after [`GroupCommit::drain`], and whenever the
//!   writer is gone, submissions are written directly by their caller (one write each);
//!   [`GroupCommit::drain`] writes everything queued before it returns;
//! - every statement the writer or a direct write sends is counted under the use case
//!   given at construction ([`crate::statements::scoped`]).
//!
//! The reveal log ([`crate::reveal_log`]) runs on it. It is offered to the audit log as
//! well; the audit log does not use it today, because its rows commit in the same
//! transaction as the action they record (an action without its audit row cannot commit),
//! which a separate writer cannot give.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Where a [`GroupCommit`] writes: one call writes all the entries it is given, durably,
/// or none of them.
pub trait Sink: Send + Sync + 'static {
    type Entry: Send + Sync + 'static;
    type Error: fmt::Display + Send + Sync + 'static;

    /// Writes `entries` (never empty, at most the group's `max_rows`).
    fn write(&self, entries: &[Self::Entry]) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Why a submission was not written.
#[derive(Debug)]
pub enum Failed<E> {
    /// The write that held it failed (every submitter of that write gets the same error).
    Write(Arc<E>),
    /// The writer stopped before it answered (it panicked); the entries may or may not
    /// have been written.
    WriterGone,
}

impl<E: fmt::Display> fmt::Display for Failed<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Write(e) => write!(f, "the group write failed: {e}"),
            Self::WriterGone => f.write_str("the group writer stopped before it answered"),
        }
    }
}

/// How much a group commit wrote: writes (statements of the sink) and entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub writes: u64,
    pub entries: u64,
}

struct Job<S: Sink> {
    entries: Vec<S::Entry>,
    done: oneshot::Sender<Result<(), Failed<S::Error>>>,
}

struct Shared<S: Sink> {
    sink: S,
    use_case: &'static str,
    max_rows: usize,
    writes: AtomicU64,
    entries: AtomicU64,
}

impl<S: Sink> Shared<S> {
    /// Writes `entries` in chunks of `max_rows`, counting each write.
    async fn write_all(&self, entries: &[S::Entry]) -> Result<(), S::Error> {
        for chunk in entries.chunks(self.max_rows.max(1)) {
            self.sink.write(chunk).await?;
            self.writes.fetch_add(1, Ordering::Relaxed);
            self.entries.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        Ok(())
    }
}

struct Running<S: Sink> {
    queue: mpsc::Sender<Job<S>>,
    writer: JoinHandle<()>,
}

/// A group-committed writer over a [`Sink`] (see the module docs).
pub struct GroupCommit<S: Sink> {
    shared: Arc<Shared<S>>,
    queue_capacity: usize,
    running: Mutex<Option<Running<S>>>,
}

impl<S: Sink> fmt::Debug for GroupCommit<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupCommit")
            .field("use_case", &self.shared.use_case)
            .field("max_rows", &self.shared.max_rows)
            .field("running", &self.is_running())
            .finish_non_exhaustive()
    }
}

impl<S: Sink> GroupCommit<S> {
    /// A group commit over `sink`, not started: its statements count under `use_case`,
    /// a write holds at most `max_rows` entries, and at most `queue_capacity`
    /// submissions wait for the writer (more wait to be queued).
    #[must_use]
    pub fn new(sink: S, use_case: &'static str, max_rows: usize, queue_capacity: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                sink,
                use_case,
                max_rows: max_rows.max(1),
                writes: AtomicU64::new(0),
                entries: AtomicU64::new(0),
            }),
            queue_capacity: queue_capacity.max(1),
            running: Mutex::new(None),
        }
    }

    /// Writes and entries so far, by the writer and directly.
    #[must_use]
    pub fn stats(&self) -> Stats {
        Stats {
            writes: self.shared.writes.load(Ordering::Relaxed),
            entries: self.shared.entries.load(Ordering::Relaxed),
        }
    }

    /// Whether the writer task runs (submissions are queued, not written directly).
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.running.lock().unwrap_or_else(PoisonError::into_inner).is_some()
    }

    /// Starts the writer task on the current Tokio runtime; a second call does nothing.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn start(&self) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if running.is_some() {
            return;
        }
        let (queue, jobs) = mpsc::channel(self.queue_capacity);
        let shared = Arc::clone(&self.shared);
        let writer = tokio::spawn(crate::statements::scoped(shared.use_case, run(shared, jobs)));
        *running = Some(Running { queue, writer });
    }

    /// Stops taking submissions into the queue (later ones are written directly), lets
    /// the writer write everything already queued, and waits for it to end.
    pub async fn drain(&self) {
        let running = self.running.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(Running { queue, writer }) = running {
            // The writer ends once every sender is gone: this one now, those of the
            // submissions in flight when they have queued their job.
            drop(queue);
            if let Err(e) = writer.await {
                tracing::error!(use_case = self.shared.use_case, error = %e, "the group writer ended abnormally");
            }
        }
    }

    /// Writes `entries` (through the writer when it runs, else directly) and returns
    /// once they are written.
    ///
    /// # Errors
    /// [`Failed`]: the entries were not (or, for [`Failed::WriterGone`], may not have
    /// been) written.
    pub async fn submit(&self, entries: Vec<S::Entry>) -> Result<(), Failed<S::Error>> {
        if entries.is_empty() {
            return Ok(());
        }
        let queue = self.running.lock().unwrap_or_else(PoisonError::into_inner).as_ref().map(|r| r.queue.clone());
        let Some(queue) = queue else { return self.write_directly(entries).await };
        let (done, answer) = oneshot::channel();
        match queue.send(Job { entries, done }).await {
            Ok(()) => {
                drop(queue);
                answer.await.unwrap_or(Err(Failed::WriterGone))
            }
            // The writer is gone (it panicked): the caller writes its own entries.
            Err(mpsc::error::SendError(job)) => self.write_directly(job.entries).await,
        }
    }

    async fn write_directly(&self, entries: Vec<S::Entry>) -> Result<(), Failed<S::Error>> {
        let shared = &self.shared;
        crate::statements::scoped(shared.use_case, shared.write_all(&entries)).await.map_err(|e| {
            tracing::error!(use_case = shared.use_case, error = %e, entries = entries.len(), "a direct write failed");
            Failed::Write(Arc::new(e))
        })
    }
}

/// The writer: takes the first waiting submission, then every other one already queued
/// that fits in `max_rows`, writes them in one write, and answers each.
async fn run<S: Sink>(shared: Arc<Shared<S>>, mut jobs: mpsc::Receiver<Job<S>>) {
    let mut carried: Option<Job<S>> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match jobs.recv().await {
                Some(job) => job,
                None => break,
            },
        };
        let mut rows = first.entries.len();
        let mut group = vec![first];
        while rows < shared.max_rows {
            let Ok(job) = jobs.try_recv() else { break };
            if rows + job.entries.len() > shared.max_rows {
                carried = Some(job);
                break;
            }
            rows += job.entries.len();
            group.push(job);
        }
        let mut entries = Vec::with_capacity(rows);
        let mut waiting = Vec::with_capacity(group.len());
        for job in group {
            entries.extend(job.entries);
            waiting.push(job.done);
        }
        match shared.write_all(&entries).await {
            Ok(()) => {
                for done in waiting {
                    // A submitter that stopped waiting (its request was cancelled) needs no answer.
                    let _ = done.send(Ok(()));
                }
            }
            Err(e) => {
                tracing::error!(use_case = shared.use_case, error = %e, entries = entries.len(), "a group write failed");
                let e = Arc::new(e);
                for done in waiting {
                    let _ = done.send(Err(Failed::Write(Arc::clone(&e))));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;

    /// Records every write; fails while `fail` is set.
    #[derive(Default)]
    struct Recorder {
        writes: Mutex<Vec<Vec<u32>>>,
        fail: AtomicBool,
    }

    impl Sink for Arc<Recorder> {
        type Entry = u32;
        type Error = String;

        async fn write(&self, entries: &[u32]) -> Result<(), String> {
            // Let the other submitters queue while this write is "in flight".
            tokio::task::yield_now().await;
            if self.fail.load(Ordering::SeqCst) {
                return Err("refused".to_owned());
            }
            self.writes.lock().unwrap_or_else(PoisonError::into_inner).push(entries.to_vec());
            Ok(())
        }
    }

    fn written(recorder: &Recorder) -> Vec<Vec<u32>> {
        recorder.writes.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    #[tokio::test]
    async fn unstarted_it_writes_each_submission_directly() {
        let recorder = Arc::new(Recorder::default());
        let group = GroupCommit::new(Arc::clone(&recorder), "test-direct", 500, 16);
        group.submit(vec![1, 2]).await.unwrap_or_else(|e| panic!("{e}"));
        group.submit(vec![3]).await.unwrap_or_else(|e| panic!("{e}"));
        group.submit(Vec::new()).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(written(&recorder), vec![vec![1, 2], vec![3]]);
        assert_eq!(group.stats(), Stats { writes: 2, entries: 3 });
    }

    #[tokio::test]
    async fn queued_submissions_share_a_write_within_max_rows() {
        let recorder = Arc::new(Recorder::default());
        let group = Arc::new(GroupCommit::new(Arc::clone(&recorder), "test-group", 4, 64));
        group.start();
        let tasks: Vec<_> = (0..10u32)
            .map(|i| {
                let group = Arc::clone(&group);
                tokio::spawn(async move { group.submit(vec![i]).await.is_ok() })
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap_or(false));
        }
        group.drain().await;
        let writes = written(&recorder);
        let mut all: Vec<u32> = writes.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>(), "every entry written once");
        assert!(writes.iter().all(|w| w.len() <= 4), "at most max_rows per write: {writes:?}");
        assert!(writes.len() < 10, "submissions shared writes: {writes:?}");
        assert!(!group.is_running());
        group.submit(vec![99]).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(written(&recorder).last(), Some(&vec![99]), "drained: written directly");
    }

    #[tokio::test]
    async fn a_submission_over_max_rows_is_written_in_chunks() {
        let recorder = Arc::new(Recorder::default());
        let group = GroupCommit::new(Arc::clone(&recorder), "test-chunks", 2, 4);
        group.start();
        group.submit(vec![1, 2, 3, 4, 5]).await.unwrap_or_else(|e| panic!("{e}"));
        group.drain().await;
        assert_eq!(written(&recorder), vec![vec![1, 2], vec![3, 4], vec![5]]);
    }

    #[tokio::test]
    async fn a_failed_write_answers_every_submitter_with_the_error() {
        let recorder = Arc::new(Recorder::default());
        recorder.fail.store(true, Ordering::SeqCst);
        let group = Arc::new(GroupCommit::new(Arc::clone(&recorder), "test-fail", 500, 64));
        group.start();
        let tasks: Vec<_> = (0..8u32)
            .map(|i| {
                let group = Arc::clone(&group);
                tokio::spawn(async move { group.submit(vec![i]).await })
            })
            .collect();
        for task in tasks {
            let outcome = task.await.unwrap_or_else(|e| panic!("{e}"));
            assert!(matches!(outcome, Err(Failed::Write(_))), "{outcome:?}");
        }
        group.drain().await;
        assert!(written(&recorder).is_empty());
        assert_eq!(group.stats(), Stats::default());
    }
}
