//! Time: where each payload falls in the captured period, and ISO-8601
//! timestamps inside values.
//!
//! Payload timestamps follow a daily and weekly rhythm (more traffic in the
//! UTC evening and at weekends) so that hourly partitions differ in size as
//! they do in a real capture.

use super::writers::push_padded;

/// One hour in milliseconds.
pub(super) const HOUR_MS: i64 = 3_600_000;
/// One day in milliseconds.
pub(super) const DAY_MS: i64 = 24 * HOUR_MS;

/// Maps payload index to a timestamp across the period, with more traffic in
/// the evening (UTC) and at weekends, like a real capture.
pub(super) struct Timeline {
    /// Start of the period, epoch milliseconds.
    pub(super) start_ms: i64,
    /// End of the period (exclusive), epoch milliseconds.
    pub(super) end_ms: i64,
    /// Cumulative weight at the start of each hour; one more entry than hours.
    cumulative: Vec<f64>,
    /// Current hour (indices only move forward).
    hour: usize,
}

impl Timeline {
    /// The period of `days` whole days (0 is treated as 1) from `start_ms`.
    pub(super) fn new(start_ms: i64, days: u32) -> Self {
        let hours = days.max(1) as usize * 24;
        let mut cumulative = Vec::with_capacity(hours + 1);
        let mut acc = 0.0;
        cumulative.push(acc);
        for h in 0..hours {
            let t = start_ms + h as i64 * HOUR_MS;
            let hour_of_day = t.rem_euclid(DAY_MS) / HOUR_MS;
            let weekday = (t.div_euclid(DAY_MS) + 4).rem_euclid(7); // 0 = Sunday
            let phase = (hour_of_day as f64 - 19.0) / 24.0 * std::f64::consts::TAU;
            let mut w = 1.0 + 0.6 * phase.cos();
            if weekday == 0 || weekday == 6 {
                w *= 1.2;
            }
            acc += w;
            cumulative.push(acc);
        }
        Self {
            start_ms,
            end_ms: start_ms + hours as i64 * HOUR_MS,
            cumulative,
            hour: 0,
        }
    }

    /// The place of payload `index` of `total` on the timeline (monotone).
    pub(super) fn at(&mut self, index: u64, total: u64) -> i64 {
        let hours = self.cumulative.len() - 1;
        let target = (index as f64 + 0.5) / total.max(1) as f64 * self.cumulative[hours];
        while self.hour + 1 < hours && self.cumulative[self.hour + 1] <= target {
            self.hour += 1;
        }
        let lo = self.cumulative[self.hour];
        let hi = self.cumulative[self.hour + 1];
        let within = ((target - lo) / (hi - lo)).clamp(0.0, 1.0);
        self.start_ms + self.hour as i64 * HOUR_MS + (within * HOUR_MS as f64) as i64
    }
}

/// Writes `ms` as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(super) fn push_iso(out: &mut Vec<u8>, ms: i64) {
    let days = ms.div_euclid(DAY_MS);
    let rem = ms.rem_euclid(DAY_MS);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    push_padded(out, year, 4);
    out.push(b'-');
    push_padded(out, month, 2);
    out.push(b'-');
    push_padded(out, day, 2);
    out.push(b'T');
    push_padded(out, rem / HOUR_MS, 2);
    out.push(b':');
    push_padded(out, rem / 60_000 % 60, 2);
    out.push(b':');
    push_padded(out, rem / 1000 % 60, 2);
    out.push(b'.');
    push_padded(out, rem % 1000, 3);
    out.push(b'Z');
}
