"""One module per record kind or group of kinds; each is a mixin of ``Generator``."""
