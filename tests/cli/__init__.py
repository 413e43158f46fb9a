"""Tests of the command line, skae/cli."""
