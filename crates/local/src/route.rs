//! Which of the 17 operations a request is: method and path, as the API model gives them, with
//! the path parameters percent-decoded.

use axum::http::Method;

/// An operation and its path parameters (`pool`, `identity`, `dataset`, `device`: the model's
/// `IdentityPoolId`, `IdentityId`, `DatasetName`, `DeviceId`, percent-decoded).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// POST /identitypools/{P}/bulkpublish
    BulkPublish { pool: String },
    /// DELETE /identitypools/{P}/identities/{I}/datasets/{D}
    DeleteDataset {
        pool: String,
        identity: String,
        dataset: String,
    },
    /// GET /identitypools/{P}/identities/{I}/datasets/{D}
    DescribeDataset {
        pool: String,
        identity: String,
        dataset: String,
    },
    /// GET /identitypools/{P}
    DescribeIdentityPoolUsage { pool: String },
    /// GET /identitypools/{P}/identities/{I}
    DescribeIdentityUsage { pool: String, identity: String },
    /// POST /identitypools/{P}/getBulkPublishDetails
    GetBulkPublishDetails { pool: String },
    /// GET /identitypools/{P}/events
    GetCognitoEvents { pool: String },
    /// GET /identitypools/{P}/configuration
    GetIdentityPoolConfiguration { pool: String },
    /// GET /identitypools/{P}/identities/{I}/datasets
    ListDatasets { pool: String, identity: String },
    /// GET /identitypools
    ListIdentityPoolUsage,
    /// GET /identitypools/{P}/identities/{I}/datasets/{D}/records
    ListRecords {
        pool: String,
        identity: String,
        dataset: String,
    },
    /// POST /identitypools/{P}/identity/{I}/device
    RegisterDevice { pool: String, identity: String },
    /// POST /identitypools/{P}/events
    SetCognitoEvents { pool: String },
    /// POST /identitypools/{P}/configuration
    SetIdentityPoolConfiguration { pool: String },
    /// POST /identitypools/{P}/identities/{I}/datasets/{D}/subscriptions/{DeviceId}
    SubscribeToDataset {
        pool: String,
        identity: String,
        dataset: String,
        device: String,
    },
    /// DELETE same path
    UnsubscribeFromDataset {
        pool: String,
        identity: String,
        dataset: String,
        device: String,
    },
    /// POST /identitypools/{P}/identities/{I}/datasets/{D}
    UpdateRecords {
        pool: String,
        identity: String,
        dataset: String,
    },
}

fn decode(segment: &str) -> Option<String> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// The operation of a method and path, or `None` (UnknownOperationException).
pub fn route(method: &Method, path: &str) -> Option<Operation> {
    let raw: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    if raw.first() != Some(&"identitypools") {
        return None;
    }
    let s: Vec<String> = raw.iter().map(|s| decode(s)).collect::<Option<_>>()?;
    let p = |i: usize| s[i].clone();
    let m = method.as_str();
    let op = match (m, s.len()) {
        ("GET", 1) => Operation::ListIdentityPoolUsage,
        ("GET", 2) => Operation::DescribeIdentityPoolUsage { pool: p(1) },
        (_, 3) => match (m, s[2].as_str()) {
            ("POST", "bulkpublish") => Operation::BulkPublish { pool: p(1) },
            ("POST", "getBulkPublishDetails") => Operation::GetBulkPublishDetails { pool: p(1) },
            ("GET", "events") => Operation::GetCognitoEvents { pool: p(1) },
            ("POST", "events") => Operation::SetCognitoEvents { pool: p(1) },
            ("GET", "configuration") => Operation::GetIdentityPoolConfiguration { pool: p(1) },
            ("POST", "configuration") => Operation::SetIdentityPoolConfiguration { pool: p(1) },
            _ => return None,
        },
        ("GET", 4) if s[2] == "identities" => Operation::DescribeIdentityUsage {
            pool: p(1),
            identity: p(3),
        },
        ("POST", 5) if s[2] == "identity" && s[4] == "device" => Operation::RegisterDevice {
            pool: p(1),
            identity: p(3),
        },
        ("GET", 5) if s[2] == "identities" && s[4] == "datasets" => Operation::ListDatasets {
            pool: p(1),
            identity: p(3),
        },
        (_, 6) if s[2] == "identities" && s[4] == "datasets" => {
            let (pool, identity, dataset) = (p(1), p(3), p(5));
            match m {
                "GET" => Operation::DescribeDataset {
                    pool,
                    identity,
                    dataset,
                },
                "DELETE" => Operation::DeleteDataset {
                    pool,
                    identity,
                    dataset,
                },
                "POST" => Operation::UpdateRecords {
                    pool,
                    identity,
                    dataset,
                },
                _ => return None,
            }
        }
        ("GET", 7) if s[2] == "identities" && s[4] == "datasets" && s[6] == "records" => Operation::ListRecords {
            pool: p(1),
            identity: p(3),
            dataset: p(5),
        },
        (_, 8) if s[2] == "identities" && s[4] == "datasets" && s[6] == "subscriptions" => {
            let (pool, identity, dataset, device) = (p(1), p(3), p(5), p(7));
            match m {
                "POST" => Operation::SubscribeToDataset {
                    pool,
                    identity,
                    dataset,
                    device,
                },
                "DELETE" => Operation::UnsubscribeFromDataset {
                    pool,
                    identity,
                    dataset,
                    device,
                },
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_the_model() {
        let p = "us-east-1%3A00000000-0000-4000-8000-000000000001";
        assert_eq!(
            route(&Method::GET, "/identitypools"),
            Some(Operation::ListIdentityPoolUsage)
        );
        assert_eq!(
            route(&Method::POST, &format!("/identitypools/{p}/bulkpublish")),
            Some(Operation::BulkPublish {
                pool: "us-east-1:00000000-0000-4000-8000-000000000001".into()
            })
        );
        assert!(matches!(
            route(&Method::POST, &format!("/identitypools/{p}/identity/i/device")),
            Some(Operation::RegisterDevice { .. })
        ));
        assert!(matches!(
            route(&Method::POST, &format!("/identitypools/{p}/identities/i/datasets/d")),
            Some(Operation::UpdateRecords { .. })
        ));
        assert!(matches!(
            route(
                &Method::DELETE,
                &format!("/identitypools/{p}/identities/i/datasets/d/subscriptions/dev")
            ),
            Some(Operation::UnsubscribeFromDataset { .. })
        ));
        assert_eq!(
            route(&Method::PUT, &format!("/identitypools/{p}/identities/i/datasets/d")),
            None
        );
        assert_eq!(route(&Method::GET, "/other"), None);
    }
}
