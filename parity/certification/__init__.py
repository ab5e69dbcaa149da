"""Reports: the result model, JUnit properties, reading, writing and validating JUnit, the matrix, comparisons, renderers and the CLI."""
