//! Applying a [`RuleSet`] to one event: find the dataset rule, judge every changed record, then
//! the dataset as a whole, and render the response.
//!
//! Only records that change in this sync are judged (new value ≠ old value, or a removal of an
//! existing value): a record that already holds a value the rules would now refuse is left
//! alone, so tightening the rules never locks a user out of syncing.

use tracing::{debug, info};

use crate::MAX_EVENT_BYTES;
use crate::decision::{Change, ChangeKind, Decision, Rejection, RuleKind, Verdict, change_kind};
use crate::error::EventError;
use crate::event::{Event, NewValue, Out, Raw, Record, decode, has_backslash, short_key, wtf8};
use crate::rules::{Action, UnknownKeys, Unmatched};
use crate::ruleset::{DatasetRuleSet, RuleSet};

/// State of one record while the rules run.
struct Judged<'a> {
    out: Out<'a>,
    /// UTF-8 length of the value the key ends up with (`None`: no value) when `changed`, for
    /// the dataset-level checks.
    len: Option<usize>,
    /// Whether the record's value changes in this sync (by the client, or by the rules setting
    /// a required key's default); else the old value stays.
    changed: bool,
    /// Whether the limits may undo it: a change the client made that no violation undid yet.
    /// Never a required key's default (the rules' own change).
    undoable: bool,
}

impl Judged<'_> {
    /// Whether the key holds a value once Cognito applies the response.
    fn has_value(&self, rec: &Record<'_>) -> bool {
        if self.changed && !matches!(self.out, Out::Omit) {
            self.len.is_some()
        } else {
            rec.old.raw().is_some()
        }
    }
}

/// Records to add to the response (required keys with their default that have no record at
/// all): key, value. Never a key of `datasetRecords`, never twice.
type Added = Vec<(String, String)>;

/// A violation in progress: settled by reverting the record, or turned into a rejection.
struct Violation {
    rule: RuleKind,
    action: Action,
    message: String,
}

impl RuleSet {
    /// Applies the rules to one Sync Trigger event (the JSON Cognito sent).
    ///
    /// `Ok` carries the [`Decision`]: accept with the response bytes, or reject. `Err` means the
    /// event could not be read at all; a Lambda should fail the sync in both of the latter cases.
    pub fn apply(&self, event_json: &[u8]) -> Result<Decision, EventError> {
        if event_json.len() > MAX_EVENT_BYTES {
            return Err(EventError::TooLarge {
                size: event_json.len(),
                max: MAX_EVENT_BYTES,
            });
        }
        // simdutf8 validates exactly as std does, several times faster; std only for the error.
        let text = match simdutf8::basic::from_utf8(event_json) {
            Ok(text) => text,
            Err(_) => std::str::from_utf8(event_json).map_err(|e| EventError::NotUtf8 {
                valid_up_to: e.valid_up_to(),
            })?,
        };
        let event = Event::parse(text)?;
        let decision = match self.find(&event.identity_pool_id, &event.dataset_name) {
            Some(rules) => Run::new(self, rules, &event).run()?,
            None if self.unmatched == Unmatched::Reject => Decision {
                verdict: Verdict::Reject(Rejection {
                    dataset: event.dataset_name.to_string(),
                    key: None,
                    rule: RuleKind::Unmatched,
                    message: "no dataset rule covers this dataset and unmatched = \"reject\"".to_owned(),
                }),
                changes: Vec::new(),
                dataset_rule: None,
            },
            None => Decision {
                verdict: Verdict::Accept {
                    response: event.input().as_bytes().to_vec(),
                },
                changes: Vec::new(),
                dataset_rule: None,
            },
        };
        log_decision(&event, &decision);
        Ok(decision)
    }
}

fn log_decision(event: &Event<'_>, d: &Decision) {
    let pool = &*event.identity_pool_id;
    let dataset = &*event.dataset_name;
    let rule_index = d.dataset_rule.map(|i| i as i64).unwrap_or(-1);
    match &d.verdict {
        Verdict::Accept { .. } => info!(
            identity_pool_id = pool,
            dataset,
            dataset_rule = rule_index,
            records = event.records.len(),
            changes = d.changes.len(),
            outcome = "accept",
            "sync trigger decision"
        ),
        Verdict::Reject(r) => info!(
            identity_pool_id = pool,
            dataset,
            dataset_rule = rule_index,
            records = event.records.len(),
            changes = d.changes.len(),
            outcome = "reject",
            rule = r.rule.as_str(),
            key = r.key.as_deref().unwrap_or(""),
            reason = %r.message,
            "sync trigger decision"
        ),
    }
}

/// One application of one dataset rule to one event.
struct Run<'r, 'a> {
    set: &'r RuleSet,
    rules: &'r DatasetRuleSet,
    event: &'r Event<'a>,
    changes: Vec<Change>,
}

/// Why judging stopped early: the rules refused the sync, or the event could not be read.
/// Both travel up with `?`; [`Run::run`] splits them again.
enum Halt {
    Rejected(Rejection),
    Event(EventError),
}

impl From<EventError> for Halt {
    fn from(e: EventError) -> Self {
        Halt::Event(e)
    }
}

impl<'r, 'a> Run<'r, 'a> {
    fn new(set: &'r RuleSet, rules: &'r DatasetRuleSet, event: &'r Event<'a>) -> Self {
        Run {
            set,
            rules,
            event,
            changes: Vec::new(),
        }
    }

    fn run(mut self) -> Result<Decision, EventError> {
        let verdict = match self.judge_all() {
            Ok((outs, added)) => Verdict::Accept {
                response: self.event.render(&outs, &added),
            },
            Err(Halt::Rejected(r)) => Verdict::Reject(r),
            Err(Halt::Event(e)) => return Err(e),
        };
        Ok(Decision {
            verdict,
            changes: self.changes,
            dataset_rule: Some(self.rules.index),
        })
    }

    /// Records settle first, then required keys, then the dataset limits (whose undo may take
    /// a required key's value away again: it then gets its default too).
    /// Returns what to do with each record, and the records to add.
    fn judge_all(&mut self) -> Result<(Vec<Out<'a>>, Added), Halt> {
        let mut judged = Vec::with_capacity(self.event.records.len());
        for rec in &self.event.records {
            judged.push(self.judge(rec)?);
        }
        let mut added = Vec::new();
        self.required(&mut judged, &mut added, true)?;
        self.limits(&mut judged, &mut added)?;
        Ok((judged.into_iter().map(|j| j.out).collect(), added))
    }

    /// Judges one record.
    fn judge(&mut self, rec: &Record<'a>) -> Result<Judged<'a>, Halt> {
        let key = &*rec.key;
        let old = rec.old.raw();
        let requested = rec.requested();
        // Compared without reading them: an old value may hold a lone surrogate escape that was
        // stored before (serde_json's raw values accept it), and must not fail the sync.
        let changed = match (old, requested) {
            (None, None) => false,
            // Different raw texts spell different strings unless escapes are involved.
            (Some(a), Some(b)) => {
                a.get() != b.get()
                    && (!(has_backslash(a.get().as_bytes()) || has_backslash(b.get().as_bytes())) || wtf8(a) != wtf8(b))
            }
            _ => true,
        };
        if !changed {
            return Ok(Judged {
                out: Out::Keep,
                len: None,
                changed: false,
                undoable: false,
            });
        }
        // A changed new value is read, so it must be valid.
        let new_value = requested.map(|r| decode(key, r)).transpose()?;
        let outcome = self.check(rec, new_value.as_deref());
        match outcome {
            Ok(None) => Ok(Judged {
                out: Out::Keep,
                len: new_value.map(|v| v.len()),
                changed: true,
                undoable: true,
            }),
            Ok(Some((value, rule))) => {
                self.change(
                    key,
                    ChangeKind::Transformed,
                    rule,
                    transform_reason(rule),
                    rec,
                    Some(&value),
                );
                Ok(Judged {
                    len: Some(value.len()),
                    out: Out::Set(NewValue::Text(value)),
                    changed: true,
                    undoable: true,
                })
            }
            Err(v) => match change_kind(v.action) {
                None => Err(self.reject(Some(key), v)),
                Some(kind) => {
                    self.change(key, kind, v.rule, v.message, rec, None);
                    Ok(revert(rec, kind))
                }
            },
        }
    }

    /// The rules for one changed record. `Ok(Some)` is a rewritten value and the transform.
    fn check(&self, rec: &Record<'a>, new: Option<&str>) -> Result<Option<(String, RuleKind)>, Violation> {
        let r = self.rules;
        let key = &*rec.key;
        let violation = |rule, action, message: &str| Violation {
            rule,
            action,
            message: message.to_owned(),
        };
        if r.denied.0.is_match(key) {
            return Err(violation(RuleKind::DeniedKeys, r.denied.1, "key is denied"));
        }
        if let Some((allowed, action)) = &r.allowed
            && !allowed.is_match(key)
        {
            return Err(violation(RuleKind::AllowedKeys, *action, "key is not allowed"));
        }
        if r.read_only.0.is_match(key) {
            return Err(violation(RuleKind::ReadOnlyKeys, r.read_only.1, "key is read-only"));
        }
        let rule = r.keys.find(key);
        let Some(new) = new else {
            // A removal: only `required_keys` (and a key rule's `default`) have a say.
            if r.required.0.iter().any(|k| k == key) {
                return match rule.and_then(|k| k.default.as_ref()) {
                    Some(d) => Ok(Some((d.clone(), RuleKind::Default))),
                    None => Err(violation(RuleKind::RequiredKeys, r.required.1, "required key removed")),
                };
            }
            return Ok(rule.and_then(|k| k.default.clone()).map(|d| (d, RuleKind::Default)));
        };
        let Some(rule) = rule else {
            let action = match r.unknown {
                UnknownKeys::Allow => return Ok(None),
                UnknownKeys::Reject => Action::Reject,
                UnknownKeys::Restore => Action::Restore,
                UnknownKeys::Drop => Action::Drop,
            };
            return Err(violation(RuleKind::UnknownKeys, action, "no key rule matches the key"));
        };
        match rule.evaluate(new) {
            Ok((_, None)) => Ok(None),
            Ok((v, Some(kind))) => Ok(Some((v.into_owned(), kind))),
            Err((kind, message)) => Err(Violation {
                rule: kind,
                action: rule.action,
                message: format!("{message} (key rule {:?})", rule.pattern),
            }),
        }
    }

    /// Required keys without a value once the records settled: set to their default (the key's
    /// record, if it has one, else a record added), or a violation. `reject_absent`: whether a
    /// required key left without a value and without a default can reject the sync (false
    /// after the limits undid the sync's changes: the dataset is then as it was before it).
    fn required(&mut self, judged: &mut [Judged<'a>], added: &mut Added, reject_absent: bool) -> Result<(), Halt> {
        let (required, action) = (&self.rules.required.0, self.rules.required.1);
        for key in required {
            if added.iter().any(|(k, _)| k == key) {
                continue;
            }
            let record = self.event.records.iter().position(|rec| &*rec.key == key);
            if let Some(i) = record
                && judged[i].has_value(&self.event.records[i])
            {
                continue;
            }
            match self.rules.keys.find(key).and_then(|k| k.default.clone()) {
                Some(d) => {
                    let reason = if record.is_some() {
                        "required key has no value; set to its default"
                    } else {
                        "required key absent; added with its default"
                    };
                    self.changes.push(Change {
                        key: key.clone(),
                        kind: ChangeKind::Added,
                        rule: RuleKind::Default,
                        reason: reason.to_owned(),
                    });
                    debug!(dataset = %self.event.dataset_name, key = %key, rule = "default", "record added");
                    match record {
                        // The key has a record (a tombstone, a removal, a change undone): that
                        // record carries the default, so that the key appears once.
                        Some(i) => {
                            judged[i] = Judged {
                                len: Some(d.len()),
                                out: Out::Set(NewValue::Text(d)),
                                changed: true,
                                undoable: false,
                            };
                        }
                        None => added.push((key.clone(), d)),
                    }
                }
                None if action == Action::Reject && reject_absent => {
                    return Err(self.reject(
                        Some(key),
                        Violation {
                            rule: RuleKind::RequiredKeys,
                            action,
                            message: "required key has no value".to_owned(),
                        },
                    ));
                }
                None => {
                    debug!(dataset = %self.event.dataset_name, key = %key, "required key absent, nothing to restore");
                }
            }
        }
        Ok(())
    }

    /// `max_records` and `max_bytes` over the dataset as it will be, required defaults included.
    fn limits(&mut self, judged: &mut [Judged<'a>], added: &mut Added) -> Result<(), Halt> {
        for (which, limit) in [
            (RuleKind::MaxRecords, self.rules.max_records),
            (RuleKind::MaxBytes, self.rules.max_bytes),
        ] {
            let Some((max, action)) = limit else { continue };
            let measure = self.measure(which, judged, added);
            if measure <= max {
                continue;
            }
            let unit = if which == RuleKind::MaxRecords {
                "records"
            } else {
                "bytes"
            };
            let message = format!("dataset would hold {measure} {unit}, more than {max}");
            let Some(kind) = change_kind(action) else {
                return Err(self.reject(
                    None,
                    Violation {
                        rule: which,
                        action,
                        message,
                    },
                ));
            };
            // Undo every change the client made in this sync: the dataset stays as it was...
            for (rec, j) in self.event.records.iter().zip(judged.iter_mut()) {
                if j.undoable {
                    self.change(&rec.key, kind, which, message.clone(), rec, None);
                    *j = revert(rec, kind);
                }
            }
            // ...except that a required key left without a value still gets its default (the
            // client may have created it in this sync).
            self.required(judged, added, false)?;
            if self.measure(which, judged, added) > max {
                debug!(dataset = %self.event.dataset_name, rule = which.as_str(), "dataset over the limit even with this sync undone (stored records, required defaults)");
            }
        }
        Ok(())
    }

    fn measure(&self, which: RuleKind, judged: &[Judged<'a>], added: &[(String, String)]) -> u64 {
        let mut n = 0u64;
        for (rec, j) in self.event.records.iter().zip(judged) {
            let len = if j.changed && !matches!(j.out, Out::Omit) {
                j.len
            } else {
                match rec.old.raw() {
                    Some(r) if which == RuleKind::MaxBytes => Some(wtf8(r).len()),
                    Some(_) => Some(0),
                    None => None,
                }
            };
            if let Some(len) = len {
                n += if which == RuleKind::MaxRecords {
                    1
                } else {
                    (rec.key.len() + len) as u64
                };
            }
        }
        for (k, v) in added {
            n += if which == RuleKind::MaxRecords {
                1
            } else {
                (k.len() + v.len()) as u64
            };
        }
        n
    }

    fn reject(&self, key: Option<&str>, v: Violation) -> Halt {
        Halt::Rejected(Rejection {
            dataset: self.event.dataset_name.to_string(),
            key: key.map(short_key),
            rule: v.rule,
            message: v.message,
        })
    }

    fn change(
        &mut self,
        key: &str,
        kind: ChangeKind,
        rule: RuleKind,
        reason: String,
        rec: &Record<'a>,
        new: Option<&str>,
    ) {
        let dataset = &*self.event.dataset_name;
        if self.set.log_values {
            let old = rec.old.raw().map(Raw::get);
            let requested = rec.requested().map(Raw::get);
            debug!(dataset, key, change = %kind, rule = rule.as_str(), reason = %reason, old_value = ?old, requested_value = ?requested, new_value = ?new, "record changed by rules");
        } else {
            debug!(dataset, key, change = %kind, rule = rule.as_str(), reason = %reason, "record changed by rules");
        }
        self.changes.push(Change {
            key: key.to_owned(),
            kind,
            rule,
            reason,
        });
    }
}

/// Why a transform rewrote a value, in words.
fn transform_reason(rule: RuleKind) -> String {
    match rule {
        RuleKind::Trim => "surrounding whitespace removed",
        RuleKind::Lowercase => "lowercased",
        RuleKind::Clamp => "clamped to the range",
        RuleKind::Default => "removed by the client; set to its default",
        _ => "value rewritten",
    }
    .to_owned()
}

/// The record with its change undone: the old value back (restore) or left out (drop). The old
/// value is measured, not read: it may hold an invalid escape stored before.
fn revert<'a>(rec: &Record<'a>, kind: ChangeKind) -> Judged<'a> {
    let old = rec.old.raw();
    let out = match (kind, old) {
        (ChangeKind::Dropped, _) => Out::Omit,
        (_, Some(r)) => Out::Set(NewValue::Raw(r)),
        (_, None) => Out::Set(NewValue::Delete),
    };
    Judged {
        out,
        len: old.map(|r| wtf8(r).len()),
        changed: true,
        undoable: false,
    }
}
