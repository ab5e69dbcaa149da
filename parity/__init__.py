"""parity: a pytest conformance suite that certifies that Linux containers behave the same on every Docker platform."""
