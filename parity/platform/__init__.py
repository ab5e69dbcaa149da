"""What an engine is: the facts it reports, Windows builds, the capability vocabulary, request shaping."""
