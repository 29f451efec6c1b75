"""The ASGI entry point of every app's service: ``LEPTON_APP=<app> uvicorn services.asgi:app``.

One module for all apps, so that a new app's service exists as soon as its
manifest does; uvicorn imports it once per worker.
"""

import os

from lepton_shared.app import get_app
from lepton_shared.errors import UserError

APP_NAME = os.environ.get("LEPTON_APP", "")
if not APP_NAME:
    raise SystemExit("set LEPTON_APP to the app to serve, e.g. LEPTON_APP=chatbot")

try:
    app = get_app(APP_NAME).create_service()
except UserError as exc:  # a refused configuration (production with the default salt): one line, not a traceback
    raise SystemExit(f"error: {exc}") from None
