"""Tests of skae/_io."""
