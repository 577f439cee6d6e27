"""``govhub demo``: the main job end to end on the embedded default (development checkout only, not in the wheel)."""
