"""``vecpatch serve``: a read-only dashboard, JSON API and Prometheus endpoint over the history."""

from vecpatch.web.app import WebSettings, create_app

__all__ = ["WebSettings", "create_app"]
