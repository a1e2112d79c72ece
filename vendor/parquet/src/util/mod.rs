// SPDX-License-Identifier: Apache-2.0
// SPDX-FileCopyrightText: See the NOTICE file distributed with this work for additional information regarding copyright ownership
// SPDX-FileContributor: Licensed to the Apache Software Foundation (ASF) under one or more contributor license agreements

#[macro_use]
pub mod bit_util;
mod bit_pack;
pub(crate) mod interner;
pub(crate) mod prefix;

pub mod push_buffers;
#[cfg(any(test, feature = "test_common"))]
pub(crate) mod test_common;
pub mod utf8;

#[cfg(any(test, feature = "test_common"))]
pub use self::test_common::page_util::{DataPageBuilder, DataPageBuilderImpl};

#[cfg(any(
    all(test, feature = "arrow"),
    all(feature = "test_common", feature = "arrow")
))]
pub use self::test_common::page_util::InMemoryPageIterator;
