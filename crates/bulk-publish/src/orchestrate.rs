//! Several pools, or every pool of the account: each run by [`run_pool`], concurrently with a
//! bound, and recorded in the table when it ran.

use aws_sdk_cognitosync::Client;
use aws_smithy_types::error::display::DisplayErrorContext;
use futures::StreamExt as _;
use synclake_lake::Store;

use crate::pool::{Options, run_pool};
use crate::record::record;
use crate::report::PoolReport;

/// Which pools to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolSelection {
    /// These pools, in this order.
    Pools(Vec<String>),
    /// Every pool ListIdentityPoolUsage lists.
    All,
}

/// Every identity pool of the account (ListIdentityPoolUsage, every page).
pub async fn list_pools(client: &Client) -> Result<Vec<String>, String> {
    let mut pools = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_identity_pool_usage()
            .max_results(60)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| format!("ListIdentityPoolUsage: {}", DisplayErrorContext(&e)))?;
        pools.extend(
            page.identity_pool_usages()
                .iter()
                .filter_map(|u| u.identity_pool_id().map(str::to_owned)),
        );
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(pools),
        }
    }
}

/// Runs every pool, at most `concurrency` at a time, recording each run in `table` when given.
/// Reports come back in the order of `pools`; a run that could not be recorded keeps its status
/// and says so in its message, and is counted in the second value.
pub async fn run_pools(
    client: &Client,
    pools: &[String],
    opts: &Options,
    concurrency: usize,
    table: Option<&Store>,
    on_poll: &(dyn Fn(&str, &str) + Sync),
) -> (Vec<PoolReport>, usize) {
    let results: Vec<(PoolReport, bool)> = futures::stream::iter(pools)
        .map(|pool| async move {
            let mut report = run_pool(client, pool, opts, on_poll).await;
            let mut unrecorded = false;
            if let Some(store) = table
                && let Err(e) = record(store, &report).await
            {
                tracing::error!(pool = %pool, error = %e, "the run could not be recorded in _bulk_publish/");
                let note = format!("not recorded in _bulk_publish/: {e}");
                report.message = Some(match report.message.take() {
                    Some(m) => format!("{m}; {note}"),
                    None => note,
                });
                unrecorded = true;
            }
            (report, unrecorded)
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let unrecorded = results.iter().filter(|(_, u)| *u).count();
    (results.into_iter().map(|(r, _)| r).collect(), unrecorded)
}
