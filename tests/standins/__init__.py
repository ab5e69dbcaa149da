"""Tests of the stand-in engines."""
