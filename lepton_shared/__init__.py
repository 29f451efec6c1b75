"""Lepton Suite shared library: the mechanisms every app reuses.

Settings, storage, the model registry, the torch ``Trainer``, transfer-learning
backbones, evaluation metrics and reports, the HTTP service shell and the CLI
plumbing live here so that an app only writes its domain logic.
"""

__version__ = "0.1.0"
