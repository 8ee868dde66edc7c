"""Compare two runs: GET /api/runs/{a}/diff/{b}, the spec diff and the config diff."""

from typing import Annotated, Any

from fastapi import APIRouter, Path

from app.api.access import readable_run
from app.api.deps import IdentityDep, PlaygroundDep, ShareQuery
from app.api.errors import invalid_input

router = APIRouter(prefix="/api", tags=["runs"])

RunId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get(
    "/runs/{run_a}/diff/{run_b}",
    responses={
        404: {"description": "No run with one of these ids"},
        422: {"description": "The same run twice"},
    },
)
def diff_runs(
    run_a: RunId,
    run_b: RunId,
    playground: PlaygroundDep,
    identity: IdentityDep,
    share: ShareQuery = None,
) -> dict[str, Any]:
    """What changed from run `a` to run `b`: layers added, removed and changed (matched by
    their place, inside residual blocks too) with parameter and MAC deltas, and the training
    settings that differ (defaults filled in). Both runs must be readable; a share token opens
    the run it belongs to."""
    if run_a == run_b:
        raise invalid_input(["path", "run_b"], "compare two different runs, not a run with itself")
    readable_run(playground, run_a, identity, share)
    readable_run(playground, run_b, identity, share)
    return playground.compare(run_a, run_b)
