//! The lease table's DynamoDB calls, each one request: the table made on first use, the item
//! binding it to a stream, and the conditional writes every ownership change and every save is.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters as _;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ReturnValue, ScalarAttributeType,
};

use super::item::{self, COUNTER, HANDOFF, KEY, Lease, META_KEY, OWNER, PARENTS};
use crate::checkpoint::{CheckpointError, ShardState};
use crate::metrics::LeaseMetrics;

/// The most a pending flush's file keys may take in a lease item (an item holds 400 KB).
const MAX_PENDING_BYTES: usize = 350 * 1024;

/// How long `CreateTable` may take to become usable.
const CREATE_WAIT: Duration = Duration::from_secs(300);

/// A conditional write's outcome.
#[derive(Debug)]
pub enum Write<T> {
    /// Written; the item as it is now.
    Done(T),
    /// The condition did not hold: someone else changed the lease.
    Conflict,
}

/// What binds a lease table to one stream incarnation and one output (the meta item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The stream's ARN.
    pub stream_arn: String,
    /// Its creation time (epoch ms).
    pub stream_created_ms: i64,
    /// The output table.
    pub output: String,
    /// The identity the table's writer marker names (shared by every worker of the table).
    pub state_id: String,
}

/// The lease table: a client, a name, and the worker's lease counters (each call counted:
/// what the table costs).
#[derive(Debug)]
pub struct LeaseTable {
    client: Client,
    name: String,
    metrics: Arc<LeaseMetrics>,
}

impl LeaseTable {
    /// The table `name` through `client`.
    pub fn new(client: Client, name: impl Into<String>, metrics: Arc<LeaseMetrics>) -> LeaseTable {
        LeaseTable {
            client,
            name: name.into(),
            metrics,
        }
    }

    /// The counters calls are counted in.
    pub fn metrics(&self) -> &LeaseMetrics {
        &self.metrics
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn call(&self) {
        self.metrics.table_calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Creates the table (on-demand billing, hash key `leaseKey`) unless it exists, and waits
    /// until it is usable.
    pub async fn ensure(&self) -> Result<(), CheckpointError> {
        self.call();
        match self.client.describe_table().table_name(&self.name).send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                self.call();
                let created = self
                    .client
                    .create_table()
                    .table_name(&self.name)
                    .billing_mode(BillingMode::PayPerRequest)
                    .attribute_definitions(
                        AttributeDefinition::builder()
                            .attribute_name(KEY)
                            .attribute_type(ScalarAttributeType::S)
                            .build()
                            .map_err(|e| fail("CreateTable", &self.name, e))?,
                    )
                    .key_schema(
                        KeySchemaElement::builder()
                            .attribute_name(KEY)
                            .key_type(KeyType::Hash)
                            .build()
                            .map_err(|e| fail("CreateTable", &self.name, e))?,
                    )
                    .send()
                    .await;
                match created {
                    Ok(_) => tracing::info!(table = %self.name, "created the lease table (on-demand billing)"),
                    // Another worker created it first.
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => {}
                    Err(e) => return Err(sdk("CreateTable", &self.name, &e)),
                }
            }
            Err(e) => return Err(sdk("DescribeTable", &self.name, &e)),
        }
        self.call();
        self.client
            .wait_until_table_exists()
            .table_name(&self.name)
            .wait(CREATE_WAIT)
            .await
            .map_err(|e| fail("DescribeTable (waiting for ACTIVE)", &self.name, DisplayErrorContext(e)))?;
        Ok(())
    }

    /// The table's binding, writing `proposed` if there is none yet (create-only: of two first
    /// starts, one binding wins and both read it).
    pub async fn bind(&self, proposed: &Binding) -> Result<Binding, CheckpointError> {
        for _ in 0..2 {
            if let Some(bound) = self.read_binding().await? {
                return Ok(bound);
            }
            self.call();
            let put = self
                .client
                .put_item()
                .table_name(&self.name)
                .item(KEY, s(META_KEY))
                .item("streamArn", s(&proposed.stream_arn))
                .item("streamCreatedMs", n(proposed.stream_created_ms))
                .item("output", s(&proposed.output))
                .item("stateId", s(&proposed.state_id))
                .condition_expression("attribute_not_exists(leaseKey)")
                .send()
                .await;
            match put {
                Ok(_) => return Ok(proposed.clone()),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception()) => {}
                Err(e) => return Err(sdk("PutItem", &self.name, &e)),
            }
        }
        self.read_binding()
            .await?
            .ok_or_else(|| fail("GetItem", &self.name, "the binding item was created and then vanished"))
    }

    async fn read_binding(&self) -> Result<Option<Binding>, CheckpointError> {
        self.call();
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .key(KEY, s(META_KEY))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk("GetItem", &self.name, &e))?;
        let Some(item) = out.item else { return Ok(None) };
        let field = |name: &str| {
            item::string(&item, name)
                .ok_or_else(|| fail("GetItem", &self.name, format!("the binding item has no {name}")))
        };
        let created = item::number(&item, "streamCreatedMs")
            .ok_or_else(|| fail("GetItem", &self.name, "the binding item has no streamCreatedMs"))?;
        Ok(Some(Binding {
            stream_arn: field("streamArn")?,
            stream_created_ms: created,
            output: field("output")?,
            state_id: field("stateId")?,
        }))
    }

    /// Every lease (a consistent scan, all pages).
    pub async fn scan(&self) -> Result<Vec<Lease>, CheckpointError> {
        let mut leases = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            self.call();
            let out = self
                .client
                .scan()
                .table_name(&self.name)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk("Scan", &self.name, &e))?;
            for item in out.items.unwrap_or_default() {
                match Lease::from_item(&item) {
                    Ok(lease) => leases.extend(lease),
                    // One foreign or damaged item must not stop every worker's scan.
                    Err(error) => tracing::warn!(table = %self.name, %error, "skipping an item that is not a lease"),
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(leases),
            }
        }
    }

    /// One lease, read consistently; `None` if there is no such item.
    pub async fn get(&self, shard: &str) -> Result<Option<Lease>, CheckpointError> {
        self.call();
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .key(KEY, s(shard))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk("GetItem", &self.name, &e))?;
        match out.item {
            Some(item) => Lease::from_item(&item).map_err(|e| fail("GetItem", &self.name, e)),
            None => Ok(None),
        }
    }

    /// Creates a free lease for a shard that has none. False if it exists already.
    pub async fn create(&self, shard: &str, parents: &[String]) -> Result<bool, CheckpointError> {
        self.call();
        let mut put = self
            .client
            .put_item()
            .table_name(&self.name)
            .item(KEY, s(shard))
            .item(COUNTER, n(0))
            .condition_expression("attribute_not_exists(leaseKey)");
        if !parents.is_empty() {
            put = put.item(PARENTS, AttributeValue::Ss(parents.to_vec()));
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk("PutItem", &self.name, &e)),
        }
    }

    /// Takes `lease` for `me` if it is still as observed (owner and counter): raises the
    /// counter, counts the owner switch, clears any hand-off request.
    pub async fn take(&self, lease: &Lease, me: &str) -> Result<Write<Lease>, CheckpointError> {
        let mut names = HashMap::from([("#owner".to_owned(), OWNER.to_owned())]);
        let mut values = HashMap::from([
            (":me".to_owned(), s(me)),
            (":one".to_owned(), n(1)),
            (":zero".to_owned(), n(0)),
            (":seen".to_owned(), n(lease.counter)),
        ]);
        let condition = match &lease.owner {
            Some(owner) => {
                values.insert(":was".into(), s(owner));
                "leaseCounter = :seen AND #owner = :was"
            }
            None => "leaseCounter = :seen AND attribute_not_exists(#owner)",
        };
        names.insert("#switches".into(), item::OWNER_SWITCHES.into());
        names.insert("#cp".into(), item::CHECKPOINT.into());
        names.insert("#from".into(), item::TAKEN_FROM.into());
        names.insert("#by".into(), item::TAKEN_EPOCH.into());
        values.insert(":none".into(), s(""));
        values.insert(":epoch".into(), n(lease.counter + 1));
        self.update(
            "take",
            &lease.shard,
            "SET #owner = :me, leaseCounter = leaseCounter + :one, #switches = if_not_exists(#switches, :zero) + :one, #from = if_not_exists(#cp, :none), #by = :epoch REMOVE synclakeHandoffTo",
            condition,
            names,
            values,
        )
        .await
    }

    /// A heartbeat: raises the counter if `me` still holds it at `counter`.
    pub async fn renew(&self, shard: &str, me: &str, counter: u64) -> Result<Write<Lease>, CheckpointError> {
        self.update(
            "renew",
            shard,
            "SET leaseCounter = leaseCounter + :one",
            "leaseCounter = :held AND #owner = :me",
            owner_name(),
            HashMap::from([
                (":me".to_owned(), s(me)),
                (":one".to_owned(), n(1)),
                (":held".to_owned(), n(counter)),
            ]),
        )
        .await
    }

    /// Saves `state` if `me` still holds the lease at `counter` (the fence: a worker that lost
    /// its lease is refused). The counter is not raised.
    pub async fn save(
        &self,
        shard: &str,
        me: &str,
        counter: u64,
        state: &ShardState,
    ) -> Result<Write<Lease>, CheckpointError> {
        if let Some(pending) = &state.pending {
            let bytes: usize = pending.keys.iter().map(|k| k.len() + 3).sum();
            if bytes > MAX_PENDING_BYTES {
                return Err(fail(
                    "save",
                    &self.name,
                    format!(
                        "shard {shard}: the flush names {} files ({} KB), more than a lease item holds (DynamoDB items are at most 400 KB): it spans too many partitions; lower --flush-records or partition more coarsely (--partition-by)",
                        pending.keys.len(),
                        bytes / 1024
                    ),
                ));
            }
        }
        let (set, remove, state_values) = item::state_update(state);
        let mut values = HashMap::from([(":me".to_owned(), s(me)), (":held".to_owned(), n(counter))]);
        values.extend(state_values.into_iter().map(|(k, v)| (k.to_owned(), v)));
        let mut names = owner_name();
        names.extend(
            item::STATE_NAMES
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        self.update(
            "save",
            shard,
            &item::update_expression(&set, &remove),
            "leaseCounter = :held AND #owner = :me",
            names,
            values,
        )
        .await
    }

    /// Gives the lease up (to `to`, or free) if `me` holds it at `counter`; the counter is
    /// raised so that a later write of the old holder is refused.
    pub async fn release(
        &self,
        shard: &str,
        me: &str,
        counter: u64,
        to: Option<&str>,
    ) -> Result<Write<Lease>, CheckpointError> {
        let mut values = HashMap::from([
            (":me".to_owned(), s(me)),
            (":one".to_owned(), n(1)),
            (":held".to_owned(), n(counter)),
        ]);
        let expression = match to {
            Some(next) => {
                values.insert(":next".into(), s(next));
                "SET leaseCounter = leaseCounter + :one, #owner = :next REMOVE synclakeHandoffTo"
            }
            None => "SET leaseCounter = leaseCounter + :one REMOVE #owner, synclakeHandoffTo",
        };
        self.update(
            "release",
            shard,
            expression,
            "leaseCounter = :held AND #owner = :me",
            owner_name(),
            values,
        )
        .await
    }

    /// Asks the holder of `lease` (as observed) to hand it to `me`, unless another request is
    /// open; the counter is left alone (and not named in the condition: the holder's heartbeats
    /// raise it all the time), so its heartbeats and saves go on until it lets go.
    pub async fn request_handoff(&self, lease: &Lease, me: &str) -> Result<Write<Lease>, CheckpointError> {
        let Some(owner) = &lease.owner else {
            return Ok(Write::Conflict);
        };
        let mut names = owner_name();
        names.insert("#handoff".into(), HANDOFF.into());
        self.update(
            "request hand-off",
            &lease.shard,
            "SET #handoff = :me",
            "#owner = :was AND attribute_not_exists(#handoff)",
            names,
            HashMap::from([(":me".to_owned(), s(me)), (":was".to_owned(), s(owner))]),
        )
        .await
    }

    /// Withdraws `me`'s open request for the lease.
    pub async fn withdraw_handoff(&self, shard: &str, me: &str) -> Result<Write<Lease>, CheckpointError> {
        self.update(
            "withdraw hand-off",
            shard,
            "REMOVE #handoff",
            "#handoff = :me",
            HashMap::from([("#handoff".to_owned(), HANDOFF.to_owned())]),
            HashMap::from([(":me".to_owned(), s(me))]),
        )
        .await
    }

    async fn update(
        &self,
        what: &'static str,
        shard: &str,
        expression: &str,
        condition: &str,
        names: HashMap<String, String>,
        values: HashMap<String, AttributeValue>,
    ) -> Result<Write<Lease>, CheckpointError> {
        self.call();
        let out = self
            .client
            .update_item()
            .table_name(&self.name)
            .key(KEY, s(shard))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(out) => {
                let item = out.attributes.unwrap_or_default();
                match Lease::from_item(&item) {
                    Ok(Some(lease)) => Ok(Write::Done(lease)),
                    Ok(None) => Err(fail(what, &self.name, "the answer is the binding item, not a lease")),
                    Err(e) => Err(fail(what, &self.name, e)),
                }
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(Write::Conflict)
            }
            Err(e) => Err(sdk(what, &self.name, &e)),
        }
    }
}

fn owner_name() -> HashMap<String, String> {
    HashMap::from([("#owner".to_owned(), OWNER.to_owned())])
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn sdk<E, R>(op: &'static str, table: &str, e: &SdkError<E, R>) -> CheckpointError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = match e {
        SdkError::ServiceError(service) => format!(
            "{}: {}",
            service.err().code().unwrap_or("error"),
            service.err().message().unwrap_or("(no message)")
        ),
        other => DisplayErrorContext(other).to_string(),
    };
    fail(op, table, detail)
}

fn fail(op: &'static str, table: &str, detail: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::LeaseTable {
        op,
        table: table.to_owned(),
        detail: detail.to_string(),
    }
}
