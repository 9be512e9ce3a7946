"""The curators' review web app: queue, story page, decisions, quarantine, dashboard."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from harvester.app import App


def create_app(app: App, **options: Any) -> FastAPI:
    """Build the FastAPI app; see ``harvester.review.web.create_app``."""
    from harvester.review.web import create_app as build

    return build(app, **options)


__all__ = ["create_app"]
