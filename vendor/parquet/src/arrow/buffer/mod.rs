// SPDX-License-Identifier: Apache-2.0
// SPDX-FileCopyrightText: See the NOTICE file distributed with this work for additional information regarding copyright ownership
// SPDX-FileContributor: Licensed to the Apache Software Foundation (ASF) under one or more contributor license agreements

//! Logic for reading data into arrow buffers

pub mod bit_util;
pub mod dictionary_buffer;
pub mod offset_buffer;
pub mod view_buffer;
