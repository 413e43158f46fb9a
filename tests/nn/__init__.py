"""Tests of skae/_nn."""
