"""Hall device gateways (queue machines, window terminals, evaluation pads)."""
