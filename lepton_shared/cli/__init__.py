"""The ``lepton`` command line."""
