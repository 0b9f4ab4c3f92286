//! Calibration to profile (waiting for lazymm-profile).
