//! Fuzzes the perf_script parser: arbitrary bytes, strict and lenient; no input may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::check(lazymm_trace::Format::PerfScript, data));
