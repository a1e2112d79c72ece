//! The Sync Trigger through the Lambda Invoke API, against SDK-level mocks: the answers a local
//! Lambda emulator cannot be made to give on demand (throttling, a function error).
#![allow(clippy::unwrap_used)]

use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_lambda::operation::invoke::{InvokeError, InvokeOutput};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::error::TooManyRequestsException;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use synclake_local::Config;
use synclake_local::error::ErrorCode;
use synclake_local::model::{Op, RecordPatch};
use synclake_local::store::PreparedUpdate;
use synclake_local::sync_trigger::{TriggerCall, Triggers};
use synclake_testkit::cognito::{IDENTITY, POOL, config_text};

const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:remote";

fn triggers(rule: &Rule) -> Triggers {
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDMOCK", "mock", None, None, "mock"))
        .http_client(create_mock_http_client())
        .interceptor(
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::MatchAny)
                .with_rule(rule),
        )
        .build();
    let local = Config::parse(&config_text("")).unwrap();
    Triggers::with_lambda(&local, Some(Client::from_conf(config))).unwrap()
}

fn call() -> TriggerCall<'static> {
    TriggerCall {
        arn: ARN,
        pool: POOL,
        identity: IDENTITY,
        dataset: "profile",
        client_context: None,
    }
}

fn patch() -> Vec<RecordPatch> {
    vec![RecordPatch {
        op: Op::Replace,
        key: "name".into(),
        value: Some("ada".into()),
        sync_count: 0,
        device_last_modified_ms: None,
    }]
}

#[tokio::test]
async fn lambda_throttling_is_lambda_throttled() {
    let rule = mock!(Client::invoke).then_error(|| {
        InvokeError::TooManyRequestsException(TooManyRequestsException::builder().message("Rate exceeded").build())
    });
    let err = triggers(&rule)
        .run(&call(), &PreparedUpdate::default(), &patch())
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::LambdaThrottled, "{err}");
    assert_eq!(err.code.status().as_u16(), 429);
}

#[tokio::test]
async fn a_function_error_is_invalid_lambda_function_output_with_its_message() {
    let rule = mock!(Client::invoke).then_output(|| {
        InvokeOutput::builder()
            .status_code(200)
            .function_error("Unhandled")
            .payload(Blob::new(
                br#"{"errorType":"synclake.SyncRejected","errorMessage":"name is reserved"}"#.to_vec(),
            ))
            .build()
    });
    let err = triggers(&rule)
        .run(&call(), &PreparedUpdate::default(), &patch())
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidLambdaFunctionOutput);
    assert_eq!(err.message, "name is reserved");
}

#[tokio::test]
async fn the_function_output_decides_what_is_stored() {
    let rule = mock!(Client::invoke).then_output(|| {
        let out = format!(
            r#"{{"version":2,"eventType":"SyncTrigger","region":"us-east-1","identityPoolId":"{POOL}","identityId":"{IDENTITY}","datasetName":"profile",
               "datasetRecords":{{"name":{{"newValue":"Ada","op":"replace"}},"added":{{"newValue":"by the trigger","op":"replace"}}}}}}"#
        );
        InvokeOutput::builder().status_code(200).payload(Blob::new(out.into_bytes())).build()
    });
    let patches = triggers(&rule)
        .run(&call(), &PreparedUpdate::default(), &patch())
        .await
        .unwrap();
    let got: Vec<(&str, Option<&str>)> = patches.iter().map(|p| (p.key.as_str(), p.value.as_deref())).collect();
    assert_eq!(got, [("name", Some("Ada")), ("added", Some("by the trigger"))]);

    // Changing anything but datasetRecords fails the sync.
    let rule = mock!(Client::invoke).then_output(|| {
        let out = format!(r#"{{"identityPoolId":"{POOL}","identityId":"someone-else:1","datasetName":"profile","datasetRecords":{{}}}}"#);
        InvokeOutput::builder().status_code(200).payload(Blob::new(out.into_bytes())).build()
    });
    let err = triggers(&rule)
        .run(&call(), &PreparedUpdate::default(), &patch())
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidLambdaFunctionOutput);
}
