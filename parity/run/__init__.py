"""One run against its targets: first contact, labelled resources and their cleanup, launched engines."""
