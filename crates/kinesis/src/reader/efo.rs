//! The enhanced fan-out reader: `SubscribeToShard` through a registered stream consumer.
//!
//! The protocol facts it is built on:
//! - A subscription pushes `SubscribeToShardEvent`s (records, or none, at least every 5 s) and
//!   the service ends it after 5 minutes; the reader renews it before that
//!   ([`FanOutOptions::renew_after`]) and replaces one that fell silent
//!   ([`FanOutOptions::silence_limit`]).
//! - Every event carries a continuation sequence number: a subscription `AFTER_SEQUENCE_NUMBER`
//!   it starts with the first record the event did not hold, even across stretches with no
//!   records. So the reader's position is always *after the continuation of the last event
//!   handed over*, and a renewal or a replaced subscription neither skips nor repeats a record
//!   (events read from a subscription but not yet handed over are simply delivered again).
//! - The last event of a closed shard has no continuation sequence number and lists the child
//!   shards: the reader then reports [`ReadEvent::ShardEnd`].
//! - One subscription per consumer and shard at a time; subscribing again within 5 s of a
//!   previous subscription is refused (`ResourceInUseException`): wait and try again.
//! - Failures come either as the answer to `SubscribeToShard` or as an exception message inside
//!   the event stream (kinesis-local sends every one that way); both are handled alike.
//! - The local stand-in (kinesis-local) never sends the closing event: a closed shard just keeps
//!   sending empty events. So, when caught up, the reader also checks now and then whether the
//!   shard is closed and read to its end ([`FanOutOptions::end_check`]), with one
//!   `GetShardIterator` + `GetRecords` call at its position.
//!
//! The HTTP client speaks HTTP/2 only where TLS negotiates it: against a plain `http://`
//! endpoint (kinesis-local's plain port) the event stream comes as a streamed HTTP/1.1 answer,
//! which works just as well.

use std::cmp::Ordering;
use std::time::Duration;

use aws_sdk_kinesis::error::{ProvideErrorMetadata as _, SdkError};
use aws_sdk_kinesis::primitives::event_stream::EventReceiver;
use aws_sdk_kinesis::types::error::SubscribeToShardEventStreamError;
use aws_sdk_kinesis::types::{StartingPosition, SubscribeToShardEvent, SubscribeToShardEventStream};
use aws_smithy_types::event_stream::RawMessage;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::error::{ErrorClass, classify, classify_code, describe};
use crate::reader::{ReadEvent, ShardTarget, StartAt};

pub use super::registration::{ConsumerWait, ensure_consumer, ensure_consumer_with};

/// Enhanced fan-out settings.
#[derive(Debug, Clone)]
pub struct FanOutOptions {
    /// The registered consumer's ARN (see [`ensure_consumer`]).
    pub consumer_arn: String,
    /// A subscription is renewed this long after it began (they end after 5 minutes).
    pub renew_after: Duration,
    /// A subscription with no event for this long is dead and replaced (and a
    /// `SubscribeToShard` call unanswered for this long is given up).
    pub silence_limit: Duration,
    /// While caught up, look at most this often whether the shard is closed and read to its end
    /// (a stand-in that never sends the closing event); `None` trusts the events alone.
    pub end_check: Option<Duration>,
}

impl FanOutOptions {
    /// Defaults for the consumer `consumer_arn`: renew after 4 min 30 s, dead after 35 s of
    /// silence, a closed-shard check at most every 10 s while caught up.
    pub fn new(consumer_arn: String) -> Self {
        FanOutOptions {
            consumer_arn,
            renew_after: Duration::from_secs(270),
            silence_limit: Duration::from_secs(35),
            end_check: Some(Duration::from_secs(10)),
        }
    }
}

/// Reads one shard through subscriptions; see the [module docs](self).
pub async fn subscribe_shard(target: ShardTarget, opts: FanOutOptions, tx: mpsc::Sender<ReadEvent>) {
    let subscriber = Subscriber {
        position: target.start.clone(),
        backoff: Backoff::new(target.backoff),
        end_check: opts.end_check,
        last_end_check: None,
        target,
        opts,
        tx,
    };
    subscriber.run().await;
}

/// What a reader does after a subscription ended or could not begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Subscribe again at once (a renewal).
    Resubscribe,
    /// Subscribe again after a backoff wait.
    RetryLater,
    /// Stop: the shard ended or is gone (and that was reported), or the receiver is gone.
    Stop,
}

/// One shard's reader: where it is, and how long it waits after failures.
struct Subscriber {
    target: ShardTarget,
    opts: FanOutOptions,
    tx: mpsc::Sender<ReadEvent>,
    /// Where the next subscription starts: the configured start until the first event, then
    /// after the continuation of the last event handed over.
    position: StartAt,
    backoff: Backoff,
    /// The closed-shard check's interval; `None` once it proved impossible (no permission).
    end_check: Option<Duration>,
    last_end_check: Option<Instant>,
}

impl Subscriber {
    async fn run(mut self) {
        loop {
            let next = match self.subscribe().await {
                Ok(events) => self.read(events).await,
                Err(next) => next,
            };
            match next {
                Next::Resubscribe => {}
                Next::RetryLater => self.backoff.wait().await,
                Next::Stop => return,
            }
        }
    }

    fn shard(&self) -> &str {
        &self.target.shard_id
    }

    /// Opens a subscription at the current position.
    async fn subscribe(
        &mut self,
    ) -> Result<EventReceiver<SubscribeToShardEventStream, SubscribeToShardEventStreamError>, Next> {
        let position = match starting_position(&self.position) {
            Ok(position) => position,
            Err(e) => {
                let reason = format!("cannot express the position {:?}: {e}", self.position);
                return Err(self.gone(reason).await);
            }
        };
        let call = self
            .target
            .client
            .subscribe_to_shard()
            .consumer_arn(&self.opts.consumer_arn)
            .shard_id(&self.target.shard_id)
            .starting_position(position)
            .send();
        match tokio::time::timeout(self.opts.silence_limit, call).await {
            Ok(Ok(out)) => {
                tracing::debug!(shard = self.shard(), position = ?self.position, "subscribed");
                Ok(out.event_stream)
            }
            Ok(Err(e)) => {
                let in_use = e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception());
                Err(self.trouble(classify(&e), in_use, describe(&e)).await)
            }
            Err(_) => {
                tracing::warn!(shard = self.shard(), limit = ?self.opts.silence_limit, "SubscribeToShard did not answer; trying again");
                Err(Next::RetryLater)
            }
        }
    }

    /// Hands over the events of one subscription until it must be renewed or replaced, or the
    /// shard ends.
    async fn read(
        &mut self,
        mut events: EventReceiver<SubscribeToShardEventStream, SubscribeToShardEventStreamError>,
    ) -> Next {
        let renew_at = Instant::now() + self.opts.renew_after;
        loop {
            let now = Instant::now();
            if now >= renew_at {
                tracing::debug!(shard = self.shard(), "renewing the subscription");
                return Next::Resubscribe;
            }
            let wake = renew_at.min(now + self.opts.silence_limit);
            let received = match tokio::time::timeout_at(wake, events.recv()).await {
                Ok(received) => received,
                Err(_) if Instant::now() >= renew_at => {
                    tracing::debug!(shard = self.shard(), "renewing the subscription");
                    return Next::Resubscribe;
                }
                Err(_) => {
                    tracing::warn!(shard = self.shard(), limit = ?self.opts.silence_limit, "subscription silent; subscribing again");
                    return Next::RetryLater;
                }
            };
            match received {
                Ok(Some(SubscribeToShardEventStream::SubscribeToShardEvent(event))) => {
                    self.backoff.reset();
                    if let Some(next) = self.hand_over(event).await {
                        return next;
                    }
                }
                Ok(Some(other)) => tracing::debug!(shard = self.shard(), event = ?other, "unknown event ignored"),
                Ok(None) => {
                    tracing::info!(
                        shard = self.shard(),
                        "the service ended the subscription; subscribing again"
                    );
                    return Next::RetryLater;
                }
                Err(e) => {
                    let (class, in_use) = classify_stream_error(&e);
                    return self.trouble(class, in_use, describe(&e)).await;
                }
            }
        }
    }

    /// Hands one event's records over and moves the position past them; `Some` when the
    /// reader must stop.
    async fn hand_over(&mut self, event: SubscribeToShardEvent) -> Option<Next> {
        let SubscribeToShardEvent {
            records,
            continuation_sequence_number: continuation,
            millis_behind_latest,
            child_shards,
            ..
        } = event;
        let last_record = records.last().map(|r| r.sequence_number.clone());
        let caught_up = records.is_empty() && millis_behind_latest == 0;
        tracing::debug!(
            shard = self.shard(),
            records = records.len(),
            millis_behind_latest,
            "event"
        );
        if let Some(after) = resume_point(&continuation, last_record) {
            self.position = StartAt::After(after);
        }
        let event = ReadEvent::Records {
            records,
            millis_behind_latest: Some(millis_behind_latest),
        };
        if self.tx.send(event).await.is_err() {
            return Some(Next::Stop);
        }
        if continuation.is_empty() {
            let children: Vec<String> = child_shards.into_iter().flatten().map(|c| c.shard_id).collect();
            tracing::info!(shard = self.shard(), ?children, "shard closed and read to its end");
            let _ = self.tx.send(ReadEvent::ShardEnd).await;
            return Some(Next::Stop);
        }
        if caught_up && self.end_check_due() && self.closed_and_read().await {
            tracing::info!(
                shard = self.shard(),
                "shard closed and read to its end (seen by the end check)"
            );
            let _ = self.tx.send(ReadEvent::ShardEnd).await;
            return Some(Next::Stop);
        }
        None
    }

    fn end_check_due(&self) -> bool {
        match (self.end_check, self.last_end_check) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(every), Some(last)) => last.elapsed() >= every,
        }
    }

    /// Whether the shard is closed and holds nothing after the position: a fresh iterator
    /// there reads no record and has no next iterator.
    async fn closed_and_read(&mut self) -> bool {
        self.last_end_check = Some(Instant::now());
        let client = &self.target.client;
        let mut request = client
            .get_shard_iterator()
            .stream_arn(&self.target.stream_arn)
            .shard_id(&self.target.shard_id)
            .shard_iterator_type(self.position.iterator_type());
        match &self.position {
            StartAt::After(seq) => request = request.starting_sequence_number(seq),
            StartAt::AtTimestamp(ts) => request = request.timestamp(*ts),
            StartAt::TrimHorizon | StartAt::Latest => {}
        }
        let iterator = match request.send().await {
            Ok(out) => out.shard_iterator,
            Err(e) => {
                self.end_check_failed("GetShardIterator", classify(&e), describe(&e));
                return false;
            }
        };
        let Some(iterator) = iterator else {
            return false;
        };
        match client.get_records().shard_iterator(iterator).limit(1).send().await {
            Ok(out) => out.records.is_empty() && out.next_shard_iterator.is_none_or(|next| next.is_empty()),
            Err(e) => {
                self.end_check_failed("GetRecords", classify(&e), describe(&e));
                false
            }
        }
    }

    /// A failed end check is no reason to stop reading; one that can never succeed is dropped.
    fn end_check_failed(&mut self, op: &'static str, class: ErrorClass, detail: String) {
        if matches!(class, ErrorClass::Credentials | ErrorClass::Fatal) {
            tracing::warn!(shard = self.shard(), op, error = %detail, "closed-shard check failed; relying on the subscription's events alone");
            self.end_check = None;
        } else {
            tracing::debug!(shard = self.shard(), op, ?class, error = %detail, "closed-shard check failed; trying later");
        }
    }

    /// What to do about a failed subscribe or a failure inside the event stream.
    async fn trouble(&mut self, class: ErrorClass, in_use: bool, detail: String) -> Next {
        let shard = self.target.shard_id.as_str();
        let attempt = self.backoff.attempts();
        if in_use {
            // A previous subscription less than 5 s old or not yet released, or a consumer
            // not active yet: these pass.
            tracing::info!(shard, attempt, error = %detail, "subscription refused for now; trying again");
            return Next::RetryLater;
        }
        match class {
            ErrorClass::NotFound => return self.gone(detail).await,
            ErrorClass::Throttled => tracing::warn!(shard, attempt, "SubscribeToShard throttled; backing off"),
            ErrorClass::Credentials | ErrorClass::Fatal => {
                tracing::error!(shard, attempt, ?class, error = %detail, "SubscribeToShard refused; backing off")
            }
            ErrorClass::ExpiredIterator | ErrorClass::Transient => {
                tracing::warn!(shard, attempt, ?class, error = %detail, "subscription failed; backing off")
            }
        }
        Next::RetryLater
    }

    async fn gone(&self, reason: String) -> Next {
        // The worker reports it (once, however often it tries again).
        tracing::debug!(shard = self.shard(), %reason, "shard cannot be read");
        let _ = self.tx.send(ReadEvent::Gone { reason }).await;
        Next::Stop
    }
}

/// Classifies a failure inside the event stream, and tells whether it is a
/// `ResourceInUseException`. An exception message there carries its type in a header that the
/// SDK turns into the error variant but not into an error code, so the variant decides.
fn classify_stream_error(err: &SdkError<SubscribeToShardEventStreamError, RawMessage>) -> (ErrorClass, bool) {
    use SubscribeToShardEventStreamError as E;
    let Some(service) = err.as_service_error() else {
        return (classify(err), false);
    };
    let class = match service {
        E::ResourceNotFoundException(_) => ErrorClass::NotFound,
        E::ResourceInUseException(_) => return (ErrorClass::Fatal, true),
        E::KmsThrottlingException(_) => ErrorClass::Throttled,
        E::InternalFailureException(_) => ErrorClass::Transient,
        E::KmsDisabledException(_)
        | E::KmsInvalidStateException(_)
        | E::KmsAccessDeniedException(_)
        | E::KmsNotFoundException(_)
        | E::KmsOptInRequired(_) => ErrorClass::Fatal,
        other => classify_code(other.code()),
    };
    (class, false)
}

/// The request's starting position for a reader at `position`.
fn starting_position(position: &StartAt) -> Result<StartingPosition, aws_smithy_types::error::operation::BuildError> {
    let builder = StartingPosition::builder().r#type(position.iterator_type());
    let builder = match position {
        StartAt::After(seq) => builder.sequence_number(seq),
        StartAt::AtTimestamp(ts) => builder.timestamp(*ts),
        StartAt::TrimHorizon | StartAt::Latest => builder,
    };
    builder.build()
}

/// The sequence number to continue after once an event was handed over, given its continuation
/// sequence number and its last record's: the continuation, unless the record lies beyond it
/// (which the service never does; taking the later of the two guarantees that no record is read
/// twice). `None` for a closing event without records.
fn resume_point(continuation: &str, last_record: Option<String>) -> Option<String> {
    match last_record {
        Some(last) if continuation.is_empty() || compare_sequence_numbers(&last, continuation) == Ordering::Greater => {
            Some(last)
        }
        _ if continuation.is_empty() => None,
        _ => Some(continuation.to_owned()),
    }
}

/// Orders two sequence numbers, decimal strings of up to 128 digits, as numbers.
fn compare_sequence_numbers(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert_eq!(compare_sequence_numbers("9", "10"), Ordering::Less);
        assert_eq!(compare_sequence_numbers("0010", "10"), Ordering::Equal);
        assert_eq!(
            compare_sequence_numbers(
                "49590338271490256608559692540925702759324208523137515618",
                "49590338271490256608559692538361571095921575989136588898"
            ),
            Ordering::Greater
        );
    }

    #[test]
    fn resumes_after_the_continuation_never_before_a_record_handed_over() {
        assert_eq!(resume_point("20", Some("15".into())), Some("20".into()));
        assert_eq!(resume_point("20", None), Some("20".into()));
        assert_eq!(resume_point("20", Some("25".into())), Some("25".into()));
        assert_eq!(resume_point("", Some("25".into())), Some("25".into()));
        assert_eq!(resume_point("", None), None);
    }

    #[test]
    fn starting_positions_carry_their_argument() {
        let p = starting_position(&StartAt::After("42".into())).expect("position");
        assert_eq!(p.r#type, aws_sdk_kinesis::types::ShardIteratorType::AfterSequenceNumber);
        assert_eq!(p.sequence_number.as_deref(), Some("42"));
        let ts = aws_smithy_types::DateTime::from_secs(1_700_000_000);
        let p = starting_position(&StartAt::AtTimestamp(ts)).expect("position");
        assert_eq!(p.timestamp, Some(ts));
        let p = starting_position(&StartAt::TrimHorizon).expect("position");
        assert_eq!(p.sequence_number, None);
    }
}
