"""Metrics on frames (reconstruction, prediction, VPT, imputation) and on physics (state recovery)."""
