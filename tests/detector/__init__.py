"""Tests of skae/_detector."""
