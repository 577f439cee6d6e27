"""Synthetic government-service data (合成数据) for the demo, the tests and the benchmark (not in the wheel)."""
