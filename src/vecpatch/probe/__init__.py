"""Reading targets: the only code that talks to a database during a scan.

Everything here is read-only and returns immutable facts (:mod:`vecpatch.probe.facts`);
assessment and planning are pure functions over those facts.
"""
