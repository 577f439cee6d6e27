"""The hub's foundation: settings, the clock, correlation ids, fault hooks, YAML positions. Imports nothing else of the hub."""
