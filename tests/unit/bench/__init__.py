"""Tests of the benchmark's own logic (``pytest bench/speed/tests``); speed itself is never asserted."""
