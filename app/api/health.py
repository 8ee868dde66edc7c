"""Liveness for load balancers and the Docker HEALTHCHECK."""

from fastapi import APIRouter

from app import __version__

router = APIRouter(tags=["health"])


@router.get("/healthz")
def read_health() -> dict[str, str]:
    """`{"status": "ok"}` while the server is up."""
    return {"status": "ok", "version": __version__}
