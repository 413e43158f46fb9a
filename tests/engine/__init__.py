"""Tests of skae/_engine."""
