"""Swagger UI for api/openapi.yaml at /docs on the local gateway.

Offline: the page, its script and its styles come from the swagger-ui-bundle-v2 package (a dev dependency, installed
by `make install`), never from a CDN. The document served is the committed api/openapi.yaml, the one clients get
(tests/unit/test_openapi.py keeps it equal to the code). Its relative server `/` makes "Try it out" call this gateway.
"""

from __future__ import annotations

import json
import mimetypes
import re
from pathlib import Path

import yaml

from devtools.paths import REPO_ROOT

# Defined here rather than in devtools.openapi, which imports the layer: the gateway must not import handlers' modules
# before the functions' environment is exported (Powertools reads it at import time).
OPENAPI_PATH = REPO_ROOT / "api" / "openapi.yaml"
DOCS_PATH = "/docs"
_ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

Answer = tuple[int, dict[str, str], bytes]

_PAGE = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Threadline API</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css">
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js" charset="utf-8"></script>
    <script>
      window.ui = SwaggerUIBundle({
        url: "/docs/openapi.yaml",
        dom_id: "#swagger-ui",
        deepLinking: true,
        persistAuthorization: true,
        // Swagger UI would otherwise send the document to validator.swagger.io for its badge.
        validatorUrl: null,
      });
    </script>
  </body>
</html>
"""


def _assets() -> Path:
    # Imported on first use: only a request for /docs needs the package.
    from swagger_ui_bundle import swagger_ui_path

    return Path(str(swagger_ui_path))


def _not_found(what: str) -> Answer:
    return 404, {"Content-Type": "application/json"}, json.dumps({"message": f"Not Found: {what}"}).encode()


def docs_answer(method: str, path: str) -> Answer | None:
    """The answer to a request under /docs; None for any other request (the gateway answers those)."""
    if method not in ("GET", "HEAD") or not (path == DOCS_PATH or path.startswith(DOCS_PATH + "/")):
        return None
    name = path.removeprefix(DOCS_PATH).strip("/")
    if not name:
        return 200, {"Content-Type": "text/html; charset=utf-8"}, _PAGE.encode()
    if name in ("openapi.yaml", "openapi.json"):
        if not OPENAPI_PATH.exists():
            return _not_found("api/openapi.yaml is missing: run `make openapi`")
        text = OPENAPI_PATH.read_text("utf-8")
        if name == "openapi.json":
            return 200, {"Content-Type": "application/json"}, json.dumps(yaml.safe_load(text)).encode()
        return 200, {"Content-Type": "application/yaml; charset=utf-8"}, text.encode()
    # Only files that sit directly in the package's folder: a name can never climb out of it.
    asset = _assets() / name
    if not _ASSET_NAME.match(name) or not asset.is_file():
        return _not_found(path)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return 200, {"Content-Type": content_type, "Cache-Control": "max-age=3600"}, asset.read_bytes()
