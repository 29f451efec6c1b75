"""The example service as a uvicorn entry point, for tests that need real server processes.

Started as ``python -m uvicorn example_entry:app --app-dir tests/services``; it
reads LEPTON_HOME / LEPTON_DATABASE_URL from its environment like any service.
"""

from lepton_shared.testing.example import example_service

app = example_service()
