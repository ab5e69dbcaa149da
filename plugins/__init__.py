"""The pytest plugins of parity, one concern each; shared run state lives in plugins/state.py."""
