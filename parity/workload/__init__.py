"""The workload every target runs: the image built without a registry, the probe client, testinfra over the Engine API."""
