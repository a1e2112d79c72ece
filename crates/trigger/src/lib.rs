//! The Sync Trigger rules engine (work in progress).
