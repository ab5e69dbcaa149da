"""Reaching an engine: endpoints, bounded first contact, one-line error reasons, the guard on every request."""
