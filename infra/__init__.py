"""The dmarcwatch CDK app: one stack, one construct module per concern, no business logic."""

from pathlib import Path

#: The repository root; every asset path (functions/, layers/, build/) is resolved against it so the app
#: works from any working directory.
REPO_ROOT = Path(__file__).resolve().parent.parent
