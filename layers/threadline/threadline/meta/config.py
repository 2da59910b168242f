"""How Threadline reaches Meta's WhatsApp Cloud API, read from the environment once per container.

In AWS the credentials live in one Secrets Manager secret (`META_SECRET_ARN`, a JSON object with `access_token`,
`app_secret` and `verify_token`), read with one signed call (threadline.aws.secrets, no boto3) and cached for
`META_SECRET_MAX_AGE_SECONDS`,
so a rotated token reaches warm containers without a redeploy. Locally, and in tests, the plain variables
`META_ACCESS_TOKEN`, `META_APP_SECRET` and `META_VERIFY_TOKEN` take precedence.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from threadline.aws.secrets import get_json_secret

# Meta retires Graph API versions about two years after release; the seed's v18.0 is gone.
DEFAULT_GRAPH_API_VERSION = "v24.0"


class MetaSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    graph_url: str = Field(default="https://graph.facebook.com", alias="META_GRAPH_URL")
    api_version: str = Field(default=DEFAULT_GRAPH_API_VERSION, alias="META_API_VERSION", pattern=r"^v\d+\.\d+$")
    # The number sends go out from when a connection names none.
    default_phone_number_id: str | None = Field(default=None, alias="META_PHONE_NUMBER_ID")
    secret_arn: str | None = Field(default=None, alias="META_SECRET_ARN")
    secret_max_age_seconds: int = Field(default=300, alias="META_SECRET_MAX_AGE_SECONDS", ge=0)
    access_token_override: SecretStr | None = Field(default=None, alias="META_ACCESS_TOKEN")
    app_secret_override: SecretStr | None = Field(default=None, alias="META_APP_SECRET")
    verify_token_override: SecretStr | None = Field(default=None, alias="META_VERIFY_TOKEN")
    connect_timeout_seconds: float = Field(default=3.05, alias="META_CONNECT_TIMEOUT_SECONDS", gt=0)
    read_timeout_seconds: float = Field(default=10.0, alias="META_READ_TIMEOUT_SECONDS", gt=0)
    max_attempts: int = Field(default=3, alias="META_MAX_ATTEMPTS", ge=1, le=10)

    def _from_secret(self, key: str) -> str | None:
        if not self.secret_arn:
            return None
        secret: Any = get_json_secret(self.secret_arn, max_age_seconds=self.secret_max_age_seconds)
        value = secret.get(key) if isinstance(secret, dict) else None
        return str(value) if value else None

    def _resolve(self, override: SecretStr | None, key: str) -> str | None:
        if override is not None and override.get_secret_value():
            return override.get_secret_value()
        return self._from_secret(key)

    def access_token(self) -> str | None:
        return self._resolve(self.access_token_override, "access_token")

    def app_secret(self) -> str | None:
        return self._resolve(self.app_secret_override, "app_secret")

    def verify_token(self) -> str | None:
        return self._resolve(self.verify_token_override, "verify_token")


@lru_cache(maxsize=1)
def get_meta_settings() -> MetaSettings:
    return MetaSettings.model_validate(dict(os.environ))
