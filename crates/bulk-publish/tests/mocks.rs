//! Every answer the orchestrator handles, through SDK-level mocks of Cognito Sync: the ones a
//! local service will not give on demand (throttling, a failed run, refused credentials) and
//! the ordinary ones, one pool at a time and step by step.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_sdk_cognitosync::Client;
use aws_sdk_cognitosync::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cognitosync::error::ErrorMetadata;
use aws_sdk_cognitosync::operation::bulk_publish::{BulkPublishError, BulkPublishOutput};
use aws_sdk_cognitosync::operation::get_bulk_publish_details::{
    GetBulkPublishDetailsError, GetBulkPublishDetailsOutput,
};
use aws_sdk_cognitosync::operation::get_identity_pool_configuration::GetIdentityPoolConfigurationOutput;
use aws_sdk_cognitosync::operation::set_identity_pool_configuration::SetIdentityPoolConfigurationOutput;
use aws_sdk_cognitosync::primitives::DateTime;
use aws_sdk_cognitosync::types::error::{AlreadyStreamedException, DuplicateRequestException, NotAuthorizedException};
use aws_sdk_cognitosync::types::{BulkPublishStatus, CognitoStreams, StreamingStatus};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_types::retry::RetryConfig;
use synclake_bulk_publish::{AdvanceInput, EnableStreaming, Options, Status, advance, run_pool};

const POOL: &str = "us-east-1:00000000-0000-4000-8000-000000000001";

fn client(rules: &[&Rule]) -> Client {
    let interceptor = rules
        .iter()
        .fold(MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny), |i, r| {
            i.with_rule(r)
        });
    let config = aws_sdk_cognitosync::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDMOCK", "mock", None, None, "mock"))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        // The orchestrator's retries, with backoffs short enough for a test.
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(4)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .build();
    Client::from_conf(config)
}

fn opts() -> Options {
    Options {
        poll_min: Duration::from_millis(1),
        poll_max: Duration::from_millis(5),
        ..Options::default()
    }
}

fn streaming(status: StreamingStatus) -> Rule {
    mock!(Client::get_identity_pool_configuration).then_output(move || {
        GetIdentityPoolConfigurationOutput::builder()
            .identity_pool_id(POOL)
            .cognito_streams(
                CognitoStreams::builder()
                    .stream_name("s")
                    .streaming_status(status.clone())
                    .build(),
            )
            .build()
    })
}

/// When "the run just asked for" started: fixed for the test process, as a run's start is.
fn now() -> i64 {
    static NOW: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *NOW.get_or_init(synclake_bulk_publish::pool::now_ms)
}

/// A run started `ago_ms` before the run just asked for, completed a second later.
fn details_of(status: BulkPublishStatus, ago_ms: i64) -> GetBulkPublishDetailsOutput {
    let start = now() - ago_ms;
    GetBulkPublishDetailsOutput::builder()
        .identity_pool_id(POOL)
        .bulk_publish_status(status)
        .bulk_publish_start_time(DateTime::from_millis(start))
        .bulk_publish_complete_time(DateTime::from_millis(start + 1_000))
        .failure_message("the stream refused records")
        .build()
}

/// The run just asked for.
fn details(status: BulkPublishStatus) -> GetBulkPublishDetailsOutput {
    details_of(status, 0)
}

fn no_poll(_: &str, _: &str) {}

#[tokio::test]
async fn streaming_off_stops_with_how_to_enable_it() {
    let off = streaming(StreamingStatus::Disabled);
    let report = run_pool(&client(&[&off]), POOL, &opts(), &no_poll).await;
    assert_eq!(report.status, Status::NotConfigured);
    assert!(report.message.unwrap().contains("--enable-streaming"));
}

#[tokio::test]
async fn enabling_streaming_sends_only_the_streams_settings_then_runs() {
    let off = streaming(StreamingStatus::Disabled);
    let set = mock!(Client::set_identity_pool_configuration)
        .match_requests(|r| {
            r.push_sync().is_none()
                && r.cognito_streams().is_some_and(|s| {
                    s.stream_name() == Some("cognito") && s.streaming_status() == Some(&StreamingStatus::Enabled)
                })
        })
        .then_output(|| SetIdentityPoolConfigurationOutput::builder().build());
    let start = mock!(Client::bulk_publish).then_output(|| BulkPublishOutput::builder().identity_pool_id(POOL).build());
    let done = mock!(Client::get_bulk_publish_details).then_output(|| details(BulkPublishStatus::Succeeded));
    let mut o = opts();
    o.enable = Some(EnableStreaming {
        stream: "cognito".into(),
        role_arn: "arn:aws:iam::1:role/r".into(),
    });
    let report = run_pool(&client(&[&off, &set, &start, &done]), POOL, &o, &no_poll).await;
    assert_eq!(report.status, Status::Succeeded, "{report:?}");
    assert_eq!(set.num_calls(), 1);
    let (started, completed) = (report.started_at.unwrap(), report.completed_at.unwrap());
    assert_eq!(completed - started, 1_000);
}

#[tokio::test]
async fn a_run_in_progress_is_attached_to_and_watched_through_throttling() {
    let on = streaming(StreamingStatus::Enabled);
    let dup = mock!(Client::bulk_publish).then_error(|| {
        BulkPublishError::DuplicateRequestException(
            DuplicateRequestException::builder()
                .message("in progress")
                .build()
                .unwrap(),
        )
    });
    let polls = mock!(Client::get_bulk_publish_details)
        .sequence()
        .output(|| details(BulkPublishStatus::InProgress))
        // Not in this operation's model, but what a throttled call answers: the SDK retries it.
        .error(|| {
            GetBulkPublishDetailsError::generic(
                ErrorMetadata::builder()
                    .code("TooManyRequestsException")
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .output(|| details(BulkPublishStatus::InProgress))
        .output(|| details(BulkPublishStatus::Succeeded))
        .build();
    let seen = std::sync::Mutex::new(Vec::new());
    let on_poll = |_: &str, s: &str| seen.lock().unwrap().push(s.to_owned());
    let report = run_pool(&client(&[&on, &dup, &polls]), POOL, &opts(), &on_poll).await;
    assert_eq!(report.status, Status::Succeeded, "{report:?}");
    assert!(report.attached);
    assert_eq!(polls.num_calls(), 4, "the throttled call was retried by the SDK");
    assert_eq!(seen.lock().unwrap().last().map(String::as_str), Some("SUCCEEDED"));
}

#[tokio::test]
async fn already_streamed_reports_when_the_next_run_is_allowed() {
    let on = streaming(StreamingStatus::Enabled);
    let already = mock!(Client::bulk_publish).then_error(|| {
        BulkPublishError::AlreadyStreamedException(
            AlreadyStreamedException::builder()
                .message("within 24 hours")
                .build()
                .unwrap(),
        )
    });
    let last = mock!(Client::get_bulk_publish_details).then_output(|| details(BulkPublishStatus::Succeeded));
    let report = run_pool(&client(&[&on, &already, &last]), POOL, &opts(), &no_poll).await;
    assert_eq!(report.status, Status::AlreadyStreamed);
    assert_eq!(
        report.next_allowed_at,
        Some(report.completed_at.unwrap() + 24 * 3600 * 1000)
    );
}

#[tokio::test]
async fn a_failed_run_and_refused_credentials_are_reported() {
    let on = streaming(StreamingStatus::Enabled);
    let start = mock!(Client::bulk_publish).then_output(|| BulkPublishOutput::builder().build());
    let failed = mock!(Client::get_bulk_publish_details).then_output(|| details(BulkPublishStatus::Failed));
    let report = run_pool(&client(&[&on, &start, &failed]), POOL, &opts(), &no_poll).await;
    assert_eq!(report.status, Status::Failed);
    assert_eq!(report.message.as_deref(), Some("the stream refused records"));

    let refused = mock!(Client::bulk_publish).then_error(|| {
        BulkPublishError::NotAuthorizedException(NotAuthorizedException::builder().message("no").build().unwrap())
    });
    let report = run_pool(&client(&[&on, &refused]), POOL, &opts(), &no_poll).await;
    assert_eq!(report.status, Status::Error);
    assert!(report.message.unwrap().contains("NotAuthorized"));
}

#[tokio::test]
async fn the_last_runs_outcome_is_not_taken_for_the_new_one() {
    let on = streaming(StreamingStatus::Enabled);
    let start = mock!(Client::bulk_publish).then_output(|| BulkPublishOutput::builder().build());
    // Right after BulkPublish the details still describe yesterday's run, then the new one.
    let polls = mock!(Client::get_bulk_publish_details)
        .sequence()
        .output(|| details_of(BulkPublishStatus::Failed, 25 * 3600 * 1000))
        .output(|| details(BulkPublishStatus::InProgress))
        .output(|| details(BulkPublishStatus::Succeeded))
        .build();
    let report = run_pool(&client(&[&on, &start, &polls]), POOL, &opts(), &no_poll).await;
    assert_eq!(report.status, Status::Succeeded, "{report:?}");
    assert_eq!(polls.num_calls(), 3);
    assert!(report.started_at.unwrap() >= report.requested_at - 60_000);
}

#[tokio::test]
async fn no_wait_leaves_the_run_going() {
    let on = streaming(StreamingStatus::Enabled);
    let start = mock!(Client::bulk_publish).then_output(|| BulkPublishOutput::builder().build());
    let running = mock!(Client::get_bulk_publish_details).then_output(|| details(BulkPublishStatus::InProgress));
    let mut o = opts();
    o.wait = false;
    let report = run_pool(&client(&[&on, &start, &running]), POOL, &o, &no_poll).await;
    assert_eq!(report.status, Status::InProgress);
    assert_eq!(
        report.started_at,
        Some(now()),
        "the service's start time names the run's row"
    );
    assert!(report.message.unwrap().contains("run the same command again"));
}

/// A table in a local directory, for the runs the steps record.
fn local_table(dir: &std::path::Path) -> synclake_lake::Store {
    synclake_lake::Store::open(
        dir.to_str().unwrap(),
        &synclake_lake::S3Options::default(),
        &dir.join("spool"),
    )
    .unwrap()
}

#[tokio::test]
async fn advance_steps_to_completion_and_records_the_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let table = local_table(dir.path());
    let on = streaming(StreamingStatus::Enabled);
    let start = mock!(Client::bulk_publish).then_output(|| BulkPublishOutput::builder().build());
    let polls = mock!(Client::get_bulk_publish_details)
        .sequence()
        .output(|| details(BulkPublishStatus::InProgress))
        .output(|| details(BulkPublishStatus::Succeeded))
        .repeatedly()
        .build();
    let c = client(&[&on, &start, &polls]);
    let first = advance(
        &c,
        &AdvanceInput {
            pool: POOL.into(),
            requested_at: None,
            attached: false,
            failures: 0,
        },
        None,
        &table,
    )
    .await;
    assert!(!first.done);
    assert_eq!(first.report.status, Status::InProgress);
    let next = AdvanceInput {
        pool: POOL.into(),
        requested_at: Some(first.report.requested_at),
        attached: false,
        failures: 0,
    };
    let second = advance(&c, &next, None, &table).await;
    assert!(!second.done, "still in progress");
    let third = advance(&c, &next, None, &table).await;
    assert!(third.done);
    assert_eq!(third.report.status, Status::Succeeded);
    // The same step again (a retried invocation) records nothing new.
    let again = advance(&c, &next, None, &table).await;
    assert!(again.done);
    let rows = std::fs::read_dir(dir.path().join("_bulk_publish")).unwrap().count();
    assert_eq!(rows, 1, "one row per run and status");
    assert_eq!(start.num_calls(), 1);
}

#[tokio::test]
async fn all_pools_follows_every_page() {
    use aws_sdk_cognitosync::operation::list_identity_pool_usage::ListIdentityPoolUsageOutput;
    use aws_sdk_cognitosync::types::IdentityPoolUsage;
    let usage = |id: &str| IdentityPoolUsage::builder().identity_pool_id(id).build();
    let pages = mock!(Client::list_identity_pool_usage)
        .sequence()
        .output(move || {
            ListIdentityPoolUsageOutput::builder()
                .identity_pool_usages(usage("us-east-1:01"))
                .identity_pool_usages(usage("us-east-1:02"))
                .next_token("p2")
                .build()
        })
        .output(move || {
            ListIdentityPoolUsageOutput::builder()
                .identity_pool_usages(usage("us-east-1:03"))
                .build()
        })
        .build();
    let pools = synclake_bulk_publish::list_pools(&client(&[&pages])).await.unwrap();
    assert_eq!(pools, ["us-east-1:01", "us-east-1:02", "us-east-1:03"]);
    assert_eq!(pages.num_calls(), 2);
}

#[tokio::test]
async fn refused_configuration_calls_are_errors_naming_the_call() {
    use aws_sdk_cognitosync::operation::get_identity_pool_configuration::GetIdentityPoolConfigurationError;
    use aws_sdk_cognitosync::operation::set_identity_pool_configuration::SetIdentityPoolConfigurationError;
    use aws_sdk_cognitosync::types::error::{ConcurrentModificationException, ResourceNotFoundException};
    let missing = mock!(Client::get_identity_pool_configuration).then_error(|| {
        GetIdentityPoolConfigurationError::ResourceNotFoundException(
            ResourceNotFoundException::builder().message("no pool").build().unwrap(),
        )
    });
    let report = run_pool(&client(&[&missing]), POOL, &opts(), &no_poll).await;
    assert_eq!(report.status, Status::Error);
    assert!(report.message.unwrap().starts_with("GetIdentityPoolConfiguration"));

    let off = streaming(StreamingStatus::Disabled);
    let busy = mock!(Client::set_identity_pool_configuration).then_error(|| {
        SetIdentityPoolConfigurationError::ConcurrentModificationException(
            ConcurrentModificationException::builder()
                .message("busy")
                .build()
                .unwrap(),
        )
    });
    let mut o = opts();
    o.enable = Some(EnableStreaming {
        stream: "s".into(),
        role_arn: "arn:aws:iam::1:role/r".into(),
    });
    let report = run_pool(&client(&[&off, &busy]), POOL, &o, &no_poll).await;
    assert_eq!(report.status, Status::Error);
    assert!(report.message.unwrap().contains("enable Cognito Streams"));
}

#[tokio::test]
async fn polls_that_keep_failing_or_never_end_stop_the_watch_not_the_run() {
    let on = streaming(StreamingStatus::Enabled);
    let start = mock!(Client::bulk_publish).then_output(|| BulkPublishOutput::builder().build());
    let broken = mock!(Client::get_bulk_publish_details).then_error(|| {
        GetBulkPublishDetailsError::generic(
            ErrorMetadata::builder()
                .code("InternalErrorException")
                .message("boom")
                .build(),
        )
    });
    let mut o = opts();
    o.max_poll_failures = 3;
    let report = run_pool(&client(&[&on, &start, &broken]), POOL, &o, &no_poll).await;
    assert_eq!(report.status, Status::Error);
    assert!(report.message.unwrap().contains("3 times in a row"));

    let forever = mock!(Client::get_bulk_publish_details).then_output(|| details(BulkPublishStatus::InProgress));
    let mut o = opts();
    o.max_wait = Duration::from_millis(30);
    let report = run_pool(&client(&[&on, &start, &forever]), POOL, &o, &no_poll).await;
    assert_eq!(report.status, Status::StillRunning);
    assert!(report.message.unwrap().contains("run the same command again"));
}

#[tokio::test]
async fn advance_ends_at_once_on_refusals_and_records_a_success_it_missed() {
    use aws_sdk_cognitosync::types::error::NotAuthorizedException as Refused;
    let dir = tempfile::tempdir().unwrap();
    let table = local_table(dir.path());
    let first = |pool: &str| AdvanceInput {
        pool: pool.into(),
        requested_at: None,
        attached: false,
        failures: 0,
    };

    let off = streaming(StreamingStatus::Disabled);
    let state = advance(&client(&[&off]), &first(POOL), None, &table).await;
    assert!(state.done);
    assert_eq!(state.report.status, Status::NotConfigured);

    // A retried first step after a fast success: AlreadyStreamed, and the success is recorded.
    let on = streaming(StreamingStatus::Enabled);
    let already = mock!(Client::bulk_publish).then_error(|| {
        BulkPublishError::AlreadyStreamedException(AlreadyStreamedException::builder().message("done").build().unwrap())
    });
    let last = mock!(Client::get_bulk_publish_details).then_output(|| details(BulkPublishStatus::Succeeded));
    let state = advance(&client(&[&on, &already, &last]), &first(POOL), None, &table).await;
    assert!(state.done);
    assert_eq!(state.report.status, Status::AlreadyStreamed);
    let rows: Vec<String> = std::fs::read_dir(dir.path().join("_bulk_publish"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].ends_with("-SUCCEEDED.parquet"), "{rows:?}");

    // Refused credentials while watching end the loop; a passing failure is asked again.
    let refused = mock!(Client::get_bulk_publish_details).then_error(|| {
        GetBulkPublishDetailsError::NotAuthorizedException(Refused::builder().message("no").build().unwrap())
    });
    let watching = AdvanceInput {
        requested_at: Some(synclake_bulk_publish::pool::now_ms()),
        ..first(POOL)
    };
    let state = advance(&client(&[&refused]), &watching, None, &table).await;
    assert!(state.done);
    assert_eq!(state.report.status, Status::Error);
    let flaky = mock!(Client::get_bulk_publish_details).then_error(|| {
        GetBulkPublishDetailsError::generic(
            ErrorMetadata::builder()
                .code("InternalErrorException")
                .message("boom")
                .build(),
        )
    });
    let state = advance(&client(&[&flaky]), &watching, None, &table).await;
    assert!(!state.done);
    assert_eq!(state.failures, 1);
    let last_chance = AdvanceInput {
        failures: synclake_bulk_publish::advance::MAX_FAILURES - 1,
        ..watching
    };
    let state = advance(&client(&[&flaky]), &last_chance, None, &table).await;
    assert!(state.done);
    assert_eq!(state.report.status, Status::Error);
}
