// SPDX-License-Identifier: Apache-2.0
// SPDX-FileCopyrightText: See the NOTICE file distributed with this work for additional information regarding copyright ownership
// SPDX-FileContributor: Licensed to the Apache Software Foundation (ASF) under one or more contributor license agreements

//! Sparse storage keyed by row-group and column coordinates.
//!
//! Builders use [`ColumnChunkMap`] for arbitrary insertion and replacement. Finished indexes
//! use [`ColumnChunkEntries`], a sorted boxed slice containing only populated entries. This reduces
//! retained memory at the cost of binary-search vs hash lookups.

use crate::errors::{ParquetError, Result};
use crate::file::metadata::memory::HeapSize;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ColumnChunkKey(u64);

impl ColumnChunkKey {
    pub(crate) fn try_new(row_group_idx: usize, column_idx: usize) -> Result<Self> {
        let row_group_idx = u32::try_from(row_group_idx).map_err(|_| {
            ParquetError::General(format!(
                "row group index exceeds packed coordinate limit: {row_group_idx}"
            ))
        })?;
        let column_idx = u32::try_from(column_idx).map_err(|_| {
            ParquetError::General(format!(
                "column index exceeds packed coordinate limit: {column_idx}"
            ))
        })?;
        Ok(Self(
            (u64::from(row_group_idx) << u32::BITS) | u64::from(column_idx),
        ))
    }

    pub(crate) fn coordinates(self) -> (usize, usize) {
        ((self.0 >> u32::BITS) as usize, (self.0 as u32) as usize)
    }
}

impl HeapSize for ColumnChunkKey {
    fn heap_size(&self) -> usize {
        0
    }
}

fn validate_dimensions(num_row_groups: usize, num_columns: usize) -> Result<()> {
    // Parquet metadata collection lengths are represented by signed 32-bit Thrift values.
    i32::try_from(num_row_groups).map_err(|_| {
        ParquetError::General(format!(
            "row group count exceeds i32::MAX: {num_row_groups}"
        ))
    })?;
    i32::try_from(num_columns).map_err(|_| {
        ParquetError::General(format!("column count exceeds i32::MAX: {num_columns}"))
    })?;
    Ok(())
}

// Chunk storage backed by a HashMap to allow builders to insert to arbitrary positions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ColumnChunkMap<T> {
    num_row_groups: usize,
    num_columns: usize,
    entries: HashMap<ColumnChunkKey, T>,
}

impl<T> ColumnChunkMap<T> {
    pub(crate) fn try_new(num_row_groups: usize, num_columns: usize) -> Result<Self> {
        validate_dimensions(num_row_groups, num_columns)?;
        Ok(Self {
            num_row_groups,
            num_columns,
            entries: HashMap::new(),
        })
    }

    pub(crate) fn num_row_groups(&self) -> usize {
        self.num_row_groups
    }

    pub(crate) fn num_columns(&self) -> usize {
        self.num_columns
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn key(&self, row_group_idx: usize, column_idx: usize) -> Result<ColumnChunkKey> {
        if row_group_idx >= self.num_row_groups || column_idx >= self.num_columns {
            return Err(ParquetError::General(format!(
                "column chunk coordinate out of bounds: row group {row_group_idx}, column \
                 {column_idx}; dimensions are {} by {}",
                self.num_row_groups, self.num_columns
            )));
        }
        ColumnChunkKey::try_new(row_group_idx, column_idx)
    }

    /// Inserts or replaces an entry.
    pub(crate) fn try_insert(
        &mut self,
        row_group_idx: usize,
        column_idx: usize,
        value: T,
    ) -> Result<Option<T>> {
        let key = self.key(row_group_idx, column_idx)?;
        if let Some(existing) = self.entries.get_mut(&key) {
            return Ok(Some(std::mem::replace(existing, value)));
        }

        self.entries.try_reserve(1).map_err(|err| {
            ParquetError::General(format!(
                "failed to reserve storage for column chunk at row group {row_group_idx}, \
                 column {column_idx}: {err}"
            ))
        })?;
        Ok(self.entries.insert(key, value))
    }

    pub(crate) fn try_freeze(self) -> Result<ColumnChunkEntries<T>> {
        validate_dimensions(self.num_row_groups, self.num_columns)?;
        let num_entries = self.entries.len();
        let mut entries = Vec::new();
        entries.try_reserve_exact(num_entries).map_err(|err| {
            ParquetError::General(format!(
                "failed to allocate storage for {num_entries} column chunk entries: {err}"
            ))
        })?;
        for entry in self.entries {
            entries.push(entry);
        }
        entries.sort_unstable_by_key(|(key, _)| *key);
        ColumnChunkEntries::try_from_sorted_entries(self.num_row_groups, self.num_columns, entries)
    }
}

impl<T: HeapSize> HeapSize for ColumnChunkMap<T> {
    fn heap_size(&self) -> usize {
        self.entries.heap_size()
    }
}

// Chunk storage backed by a boxed slice. Finished (immutable) indexes use this to save memory.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ColumnChunkEntries<T> {
    num_row_groups: usize,
    num_columns: usize,
    entries: Box<[(ColumnChunkKey, T)]>,
}

impl<T> ColumnChunkEntries<T> {
    /// Constructs immutable storage from entries in strictly increasing row-major order.
    /// Missing coordinates need no placeholder; dimensions only bound the stored keys.
    pub(crate) fn try_from_sorted_entries(
        num_row_groups: usize,
        num_columns: usize,
        entries: Vec<(ColumnChunkKey, T)>,
    ) -> Result<Self> {
        validate_dimensions(num_row_groups, num_columns)?;
        let mut previous = None;
        for (key, _) in &entries {
            let (row_group_idx, column_idx) = key.coordinates();
            if row_group_idx >= num_row_groups || column_idx >= num_columns {
                return Err(ParquetError::General(format!(
                    "column chunk coordinate out of bounds: row group {row_group_idx}, column \
                     {column_idx}; dimensions are {num_row_groups} by {num_columns}"
                )));
            }
            if previous.is_some_and(|previous| previous >= *key) {
                return Err(ParquetError::General(
                    "column chunk entries must be unique and in row-major order".to_string(),
                ));
            }
            previous = Some(*key);
        }
        Ok(Self {
            num_row_groups,
            num_columns,
            entries: entries.into_boxed_slice(),
        })
    }

    pub(crate) fn try_from_rows(rows: Vec<Vec<Option<T>>>) -> Result<Self> {
        let num_row_groups = rows.len();
        let num_columns = rows.iter().map(Vec::len).max().unwrap_or_default();
        validate_dimensions(num_row_groups, num_columns)?;
        let num_entries = rows
            .iter()
            .map(|columns| columns.iter().filter(|value| value.is_some()).count())
            .try_fold(0_usize, |total, count| total.checked_add(count))
            .ok_or_else(|| {
                ParquetError::General("column chunk entry count exceeds usize::MAX".to_string())
            })?;
        let mut entries = Vec::new();
        entries.try_reserve_exact(num_entries).map_err(|err| {
            ParquetError::General(format!(
                "failed to allocate storage for {num_entries} column chunk entries: {err}"
            ))
        })?;
        for (row_group_idx, columns) in rows.into_iter().enumerate() {
            for (column_idx, value) in columns.into_iter().enumerate() {
                if let Some(value) = value {
                    entries.push((ColumnChunkKey::try_new(row_group_idx, column_idx)?, value));
                }
            }
        }
        Self::try_from_sorted_entries(num_row_groups, num_columns, entries)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn key(&self, row_group_idx: usize, column_idx: usize) -> Result<ColumnChunkKey> {
        if row_group_idx >= self.num_row_groups || column_idx >= self.num_columns {
            return Err(ParquetError::General(format!(
                "column chunk coordinate out of bounds: row group {row_group_idx}, column \
                 {column_idx}; dimensions are {} by {}",
                self.num_row_groups, self.num_columns
            )));
        }
        ColumnChunkKey::try_new(row_group_idx, column_idx)
    }

    pub(crate) fn get(&self, row_group_idx: usize, column_idx: usize) -> Result<Option<&T>> {
        let key = self.key(row_group_idx, column_idx)?;
        let Ok(entry_idx) = self
            .entries
            .binary_search_by_key(&key, |(entry_key, _)| *entry_key)
        else {
            return Ok(None);
        };
        let Some((_, value)) = self.entries.get(entry_idx) else {
            return Err(ParquetError::General(format!(
                "column chunk binary search returned invalid entry index {entry_idx}"
            )));
        };
        Ok(Some(value))
    }

    #[cfg_attr(not(test), expect(unused))]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (ColumnChunkKey, &T)> {
        self.entries.iter().map(|(key, value)| (*key, value))
    }

    pub(crate) fn into_iter(self) -> impl Iterator<Item = (ColumnChunkKey, T)> {
        self.entries.into_vec().into_iter()
    }

    pub(crate) fn try_into_map(self) -> Result<ColumnChunkMap<T>> {
        let mut map = ColumnChunkMap::try_new(self.num_row_groups, self.num_columns)?;
        for (key, value) in self.entries {
            let (row_group_idx, column_idx) = key.coordinates();
            map.try_insert(row_group_idx, column_idx, value)?;
        }
        Ok(map)
    }
}

impl<V: HeapSize> HeapSize for ColumnChunkEntries<V> {
    fn heap_size(&self) -> usize {
        self.entries.len() * std::mem::size_of::<(ColumnChunkKey, V)>()
            + self
                .entries
                .iter()
                .map(|(_, value)| value.heap_size())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_storage_is_sorted_and_validates_coordinates() {
        let mut map = ColumnChunkMap::try_new(2, 3).unwrap();
        map.try_insert(1, 2, 12).unwrap();
        map.try_insert(0, 1, 1).unwrap();
        let entries = map.try_freeze().unwrap();

        let coordinates = entries
            .iter()
            .map(|(key, _)| key.coordinates())
            .collect::<Vec<_>>();
        assert_eq!(coordinates, vec![(0, 1), (1, 2)]);
        assert_eq!(entries.get(0, 1).unwrap(), Some(&1));
        assert_eq!(entries.get(0, 2).unwrap(), None);
        assert!(entries.get(2, 0).is_err());
        assert!(entries.get(0, 3).is_err());
    }

    #[test]
    fn sorted_entries_preserve_sparse_coordinates() {
        let entries = ColumnChunkEntries::try_from_sorted_entries(
            100,
            1_000,
            vec![
                (ColumnChunkKey::try_new(0, 3).unwrap(), 3_i32),
                (ColumnChunkKey::try_new(99, 999).unwrap(), 999),
            ],
        )
        .unwrap();
        assert_eq!(entries.get(0, 3).unwrap(), Some(&3));
        assert_eq!(entries.get(0, 2).unwrap(), None);
        assert_eq!(entries.get(99, 999).unwrap(), Some(&999));
        assert_eq!(
            entries.heap_size(),
            2 * std::mem::size_of::<(ColumnChunkKey, i32)>()
        );
        assert!(
            ColumnChunkEntries::<i32>::try_from_sorted_entries(0, 0, vec![])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn sorted_entries_reject_invalid_coordinates_and_order() {
        let first = ColumnChunkKey::try_new(0, 0).unwrap();
        let second = ColumnChunkKey::try_new(1, 1).unwrap();
        for entries in [vec![(first, 1), (first, 2)], vec![(second, 1), (first, 2)]] {
            assert!(ColumnChunkEntries::try_from_sorted_entries(2, 2, entries).is_err());
        }
        assert!(ColumnChunkEntries::try_from_sorted_entries(1, 2, vec![(second, 1)]).is_err());
        assert!(ColumnChunkEntries::try_from_sorted_entries(2, 1, vec![(second, 1)]).is_err());
        assert!(
            ColumnChunkEntries::<i32>::try_from_sorted_entries(i32::MAX as usize + 1, 1, vec![],)
                .is_err()
        );
    }

    #[test]
    fn zero_and_invalid_dimensions() {
        assert!(ColumnChunkMap::<()>::try_new(0, 0).is_ok());
        assert!(ColumnChunkMap::<()>::try_new(i32::MAX as usize + 1, 1).is_err());
        assert!(ColumnChunkMap::<()>::try_new(1, i32::MAX as usize + 1).is_err());
    }

    #[test]
    fn insertion_replaces_existing_value_without_growing() {
        let mut map = ColumnChunkMap::try_new(1, 1).unwrap();
        assert_eq!(map.try_insert(0, 0, "first").unwrap(), None);
        let capacity = map.entries.capacity();

        assert_eq!(map.try_insert(0, 0, "replacement").unwrap(), Some("first"));
        assert_eq!(map.entries.len(), 1);
        assert_eq!(map.entries.capacity(), capacity);
    }

    #[test]
    fn freeze_and_thaw_preserve_entries() {
        let mut map = ColumnChunkMap::try_new(2, 2).unwrap();
        map.try_insert(1, 0, 3).unwrap();
        let expected_entries = map.try_freeze().unwrap();

        let mut map = ColumnChunkMap::try_new(2, 2).unwrap();
        map.try_insert(1, 0, 3).unwrap();
        let entries = map.try_freeze().unwrap();
        let thawed = entries.try_into_map().unwrap();
        assert_eq!(thawed.try_freeze().unwrap(), expected_entries);
    }

    #[test]
    fn frozen_heap_size_uses_packed_key_layout() {
        let entries = ColumnChunkEntries::try_from_rows(vec![vec![Some(1_i32)]]).unwrap();
        assert_eq!(
            entries.heap_size(),
            std::mem::size_of::<(ColumnChunkKey, i32)>()
        );
    }
}
