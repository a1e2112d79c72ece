//! Lease tables on the local DynamoDB (moto) as the fleet tests use them: read every lease,
//! and plant a lease state as a worker killed at a chosen instant would have left it.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use synclake_kinesis::checkpoint::ShardState;
use synclake_kinesis::lease::item::{self, Lease};
use synclake_kinesis::lease::table::LeaseTable;

use crate::services::dynamodb_client;

/// The lease table `name` on the local server.
pub fn table(name: &str) -> LeaseTable {
    LeaseTable::new(dynamodb_client(), name, Arc::default())
}

/// Every lease of `name`; none while the table does not exist yet.
pub async fn leases(name: &str) -> Vec<Lease> {
    table(name).scan().await.unwrap_or_default()
}

/// Writes `state` into `shard`'s lease and names `owner` as its holder, leaving the counter
/// alone: the lease then looks as a worker `owner` left it when it died at that instant.
pub async fn plant(name: &str, shard: &str, owner: &str, state: &ShardState) {
    let (mut set, remove, values) = item::state_update(state);
    set.push("#owner = :owner");
    let mut names: HashMap<String, String> = item::STATE_NAMES
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    names.insert("#owner".into(), item::OWNER.into());
    let mut values: HashMap<String, AttributeValue> = values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    values.insert(":owner".into(), AttributeValue::S(owner.to_owned()));
    dynamodb_client()
        .update_item()
        .table_name(name)
        .key(item::KEY, AttributeValue::S(shard.to_owned()))
        .update_expression(item::update_expression(&set, &remove))
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .send()
        .await
        .unwrap();
}
