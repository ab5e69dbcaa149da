"""Engines the project brings up to stand in for platforms that cannot run here."""
