"""A Windows Server (Docker Engine 20.10, --experimental, LCOW) daemon stand-in: an Engine API front that
answers and validates as that daemon does and relays what passes to a Linux Docker engine."""
