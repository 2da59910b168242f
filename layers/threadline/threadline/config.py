"""Settings read from the environment once per container and validated by pydantic.

Locally `DATABASE_URL` names the database. In AWS the functions reach RDS Proxy with IAM authentication
(`DB_HOST`, `DB_USER`, `DB_IAM_AUTH=true`), so no database password exists in the function's configuration. An
existing PostgreSQL without a proxy is reached with the application role's password, read at connect time from the
Secrets Manager secret `DB_PASSWORD_SECRET_ARN` names (never from the configuration itself).
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    db_host: str | None = Field(default=None, alias="DB_HOST")
    db_port: int = Field(default=5432, alias="DB_PORT")
    db_name: str = Field(default="threadline", alias="DB_NAME")
    db_user: str = Field(default="threadline_app", alias="DB_USER")
    # Local and self-hosted databases only; in AWS the password is an IAM token minted per connect.
    db_password: SecretStr | None = Field(default=None, alias="DB_PASSWORD")
    db_iam_auth: bool = Field(default=False, alias="DB_IAM_AUTH")
    # A secret {"password": ...} (other keys ignored) holding the application role's password; cached per container.
    db_password_secret_arn: str | None = Field(default=None, alias="DB_PASSWORD_SECRET_ARN")
    db_password_secret_max_age_seconds: int = Field(default=300, alias="DB_PASSWORD_SECRET_MAX_AGE_SECONDS", ge=0)
    # libpq's sslmode; IAM authentication always requires TLS.
    db_sslmode: str | None = Field(default=None, alias="DB_SSLMODE")
    db_connect_timeout_seconds: int = Field(default=5, alias="DB_CONNECT_TIMEOUT_SECONDS")
    aws_region: str = Field(default="us-east-1", alias="AWS_REGION")
    # The JWT claim that carries the tenant id (e.g. `custom:tenant_id` for Cognito).
    tenant_claim: str = Field(default="tenant_id", alias="TENANT_CLAIM")

    @model_validator(mode="after")
    def _database_is_reachable_somehow(self) -> Settings:
        if not self.database_url and not self.db_host:
            raise ValueError("set DATABASE_URL, or DB_HOST (with DB_USER and DB_IAM_AUTH) to reach PostgreSQL")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.model_validate(dict(os.environ))
