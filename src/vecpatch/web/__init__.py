"""``vecpatch serve``: a read-only dashboard, JSON API and Prometheus endpoint over the history.

The FastAPI app lives in :mod:`vecpatch.web.app`; it is not imported here, so commands that
only need the views (``metrics``, ``report``) do not pay for loading FastAPI.
"""
