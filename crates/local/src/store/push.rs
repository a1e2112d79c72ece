//! Push sync: devices, dataset subscriptions, and the notifications the real service would send
//! through SNS (recorded here, since nothing leaves this machine).

use rusqlite::{OptionalExtension, Transaction, params};

use super::Store;
use crate::error::ApiError;
use crate::model::Notification;

impl Store {
    /// RegisterDevice: one device id per (identity, platform, token), stable when registered again.
    pub fn register_device(&self, pool: &str, identity: &str, platform: &str, token: &str) -> Result<String, ApiError> {
        let conn = self.lock();
        if let Some(id) = conn
            .prepare_cached("SELECT device_id FROM devices WHERE pool=?1 AND identity=?2 AND platform=?3 AND token=?4")?
            .query_row(params![pool, identity, platform, token], |r| r.get::<_, String>(0))
            .optional()?
        {
            return Ok(id);
        }
        let id = {
            use rand::Rng as _;
            let mut rng = rand::rng();
            let a: u64 = rng.random();
            let b: u64 = rng.random();
            // The UUID version-4 layout, as the real service's device ids look.
            format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xfff,
                0x8000 | ((b >> 48) & 0x3fff),
                b & 0xffff_ffff_ffff
            )
        };
        conn.execute(
            "INSERT INTO devices (device_id, pool, identity, platform, token) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, pool, identity, platform, token],
        )?;
        Ok(id)
    }

    fn own_device(
        &self,
        conn: &rusqlite::Connection,
        pool: &str,
        identity: &str,
        device: &str,
    ) -> Result<(), ApiError> {
        conn.prepare_cached("SELECT 1 FROM devices WHERE device_id=?1 AND pool=?2 AND identity=?3")?
            .query_row(params![device, pool, identity], |_| Ok(()))
            .optional()?
            .ok_or_else(|| ApiError::not_found(format!("Device {device} not found")))
    }

    /// SubscribeToDataset (idempotent).
    pub fn subscribe(&self, pool: &str, identity: &str, dataset: &str, device: &str) -> Result<(), ApiError> {
        let conn = self.lock();
        self.own_device(&conn, pool, identity, device)?;
        conn.execute(
            "INSERT OR IGNORE INTO subscriptions (pool, identity, dataset, device_id) VALUES (?1, ?2, ?3, ?4)",
            params![pool, identity, dataset, device],
        )?;
        Ok(())
    }

    /// UnsubscribeFromDataset (idempotent for a known device).
    pub fn unsubscribe(&self, pool: &str, identity: &str, dataset: &str, device: &str) -> Result<(), ApiError> {
        let conn = self.lock();
        self.own_device(&conn, pool, identity, device)?;
        conn.execute(
            "DELETE FROM subscriptions WHERE pool=?1 AND identity=?2 AND dataset=?3 AND device_id=?4",
            params![pool, identity, dataset, device],
        )?;
        Ok(())
    }

    /// The recorded notifications after sequence number `after`, oldest first.
    pub fn notifications(&self, after: i64, limit: usize) -> Result<Vec<(i64, Notification)>, ApiError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, pool, identity, dataset, device_id, platform, token, sync_count, at_ms FROM notifications
             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok((
                r.get(0)?,
                Notification {
                    identity_pool_id: r.get(1)?,
                    identity_id: r.get(2)?,
                    dataset_name: r.get(3)?,
                    device_id: r.get(4)?,
                    platform: r.get(5)?,
                    token: r.get(6)?,
                    sync_count: r.get(7)?,
                    at_ms: r.get(8)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

/// Inside an UpdateRecords transaction: one notification per device subscribed to the dataset.
pub(super) fn notify(
    tx: &Transaction<'_>,
    pool: &str,
    identity: &str,
    dataset: &str,
    sync_count: i64,
    now: i64,
) -> rusqlite::Result<usize> {
    tx.prepare_cached(
        "INSERT INTO notifications (pool, identity, dataset, device_id, platform, token, sync_count, at_ms)
         SELECT s.pool, s.identity, s.dataset, s.device_id, d.platform, d.token, ?4, ?5
         FROM subscriptions s JOIN devices d ON d.device_id = s.device_id
         WHERE s.pool=?1 AND s.identity=?2 AND s.dataset=?3",
    )?
    .execute(params![pool, identity, dataset, sync_count, now])
}
