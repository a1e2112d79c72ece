// SPDX-License-Identifier: Apache-2.0
// SPDX-FileCopyrightText: See the NOTICE file distributed with this work for additional information regarding copyright ownership
// SPDX-FileContributor: Licensed to the Apache Software Foundation (ASF) under one or more contributor license agreements

//! Page Index of "[Column Index] Layout to Support Page Skipping"
//!
//! [Column Index]: https://github.com/apache/parquet-format/blob/master/PageIndex.md

pub mod column_index;
pub mod index_reader;
pub mod offset_index;
