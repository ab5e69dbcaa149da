"""What the user writes: the targets file (matrix.yaml) and the known divergences (divergences.yaml)."""
