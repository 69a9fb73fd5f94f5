//! Helpers shared by this crate's integration tests.
#![allow(dead_code)]

pub mod conformance;
pub mod real_guest;
