"""The service layer: the one door from the web layer into the core. No web imports."""

from app.service.playground import Export, Playground
from app.service.run_views import RunCreated, RunPublic

__all__ = ["Export", "Playground", "RunCreated", "RunPublic"]
