"""The model registry: models, versions, aliases, signatures, the promotion gate and REST
scoring."""
