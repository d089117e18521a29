"""Where a server runs (its platform), and what that platform offers and how it is patched.

Detection (:mod:`.detect`) is a pure decision over what a connection could see
(:class:`.model.PlatformMarkers`); the steps a plan prints (:mod:`.steps`) and the provider
ceilings (:mod:`.ceilings`) are pure too. Host facts and package drivers do the I/O.
"""
