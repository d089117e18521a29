"""Live feeds, one plug-in per file, all behind :mod:`.interface`."""
