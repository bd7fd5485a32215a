"""The base of the service's own pydantic models.

`defer_build`: a model's validator and serializer are built at its first use, not when its module is
imported. Every Lambda imports the shared model modules, but each uses a few of their ~50 models (the
authorizer two, the scanner none of the report models), and building all of them cost every cold start
some 20 ms. A model a function uses is built on its first validation, once per process.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)
