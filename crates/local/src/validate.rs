//! The API's value rules (the botocore model's `min`/`max`/`pattern` of each shape), checked
//! before anything is stored. A value outside them is an `InvalidParameterException`.

/// `IdentityPoolId` and `IdentityId`: 1..=55 characters, `[\w-]+:[0-9a-f-]+`.
pub fn is_pool_or_identity_id(s: &str) -> bool {
    let Some((region, guid)) = s.split_once(':') else {
        return false;
    };
    s.len() <= 55
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !guid.is_empty()
        && guid
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-')
}

/// `DatasetName`: 1..=128 characters of `[a-zA-Z0-9_.:-]`.
pub fn is_dataset_name(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// `RecordKey`: 1..=1024 characters.
pub fn is_record_key(s: &str) -> bool {
    let n = s.chars().count();
    (1..=1024).contains(&n)
}

/// `RecordValue`: at most 1,048,575 characters.
pub fn is_record_value(s: &str) -> bool {
    // Bytes bound characters from above: only count when the bytes could exceed it.
    s.len() <= 1_048_575 || s.chars().count() <= 1_048_575
}

/// `DeviceId`: 1..=256 characters.
pub fn is_device_id(s: &str) -> bool {
    (1..=256).contains(&s.chars().count())
}

/// `StreamName`: 1..=128 characters.
pub fn is_stream_name(s: &str) -> bool {
    (1..=128).contains(&s.chars().count())
}

/// `AssumeRoleArn`: 20..=2048 characters, `arn:aws:iam::\d+:role/.*`.
pub fn is_role_arn(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("arn:aws:iam::") else {
        return false;
    };
    let Some((account, _role)) = rest.split_once(":role/") else {
        return false;
    };
    (20..=2048).contains(&s.len()) && !account.is_empty() && account.bytes().all(|b| b.is_ascii_digit())
}

/// `ApplicationArn`: `arn:aws:sns:[-0-9a-z]+:\d+:app/[A-Z_]+/[a-zA-Z0-9_.-]+`.
pub fn is_application_arn(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("arn:aws:sns:") else {
        return false;
    };
    let mut parts = rest.splitn(3, ':');
    let (Some(region), Some(account), Some(app)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Some(app) = app.strip_prefix("app/") else {
        return false;
    };
    let Some((platform, name)) = app.split_once('/') else {
        return false;
    };
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'-')
        && !account.is_empty()
        && account.bytes().all(|b| b.is_ascii_digit())
        && !platform.is_empty()
        && platform.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
        && !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// A Lambda function ARN (what `Events.SyncTrigger` holds).
pub fn is_lambda_arn(s: &str) -> bool {
    s.starts_with("arn:aws:lambda:") && s.contains(":function:") && s.len() <= 2048
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_model_pattern() {
        assert!(is_pool_or_identity_id("us-east-1:00000000-0000-4000-8000-000000000001"));
        assert!(!is_pool_or_identity_id("us-east-1:0000000G"));
        assert!(!is_pool_or_identity_id("no-colon"));
        assert!(!is_pool_or_identity_id(&format!("us-east-1:{}", "a".repeat(50))));
        assert!(is_dataset_name("game_state.v2:x-y"));
        assert!(!is_dataset_name("has space"));
        assert!(!is_dataset_name(&"a".repeat(129)));
    }

    #[test]
    fn arns_follow_the_model_pattern() {
        assert!(is_role_arn("arn:aws:iam::123456789012:role/CognitoStreams"));
        assert!(!is_role_arn("arn:aws:iam::12x:role/CognitoStreams"));
        assert!(is_application_arn("arn:aws:sns:us-east-1:123456789012:app/GCM/my-app"));
        assert!(!is_application_arn("arn:aws:sns:us-east-1:123456789012:app/gcm/my-app"));
        assert!(is_lambda_arn("arn:aws:lambda:us-east-1:123456789012:function:f"));
    }

    #[test]
    fn keys_and_values_count_characters() {
        assert!(is_record_key(&"é".repeat(1024)));
        assert!(!is_record_key(&"é".repeat(1025)));
        assert!(!is_record_key(""));
        assert!(is_record_value(&"é".repeat(1_048_575)));
        assert!(!is_record_value(&"a".repeat(1_048_576)));
    }
}
