"""One APIRouter per resource; `ROUTERS` is what `create_app` includes (the search router gets the upload limit)."""

from serving.routes import admin, catalog, events, experiments, health, images, search, ui

ROUTERS = (events.router, images.router, experiments.router, admin.router, health.router, ui.router)

__all__ = ["ROUTERS", "admin", "catalog", "events", "experiments", "health", "images", "search", "ui"]
