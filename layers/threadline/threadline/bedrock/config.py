"""How Threadline reaches its language model (Amazon Bedrock's Converse API), read from the environment once per
container.

An empty `BEDROCK_MODEL_ID` means no model is configured: messages are still captured, and a request that asks
for a reply is answered with a processingError. `BEDROCK_ENDPOINT_URL` points the client somewhere else than
Bedrock (the tests' and `make dev`'s local fake); `BEDROCK_REGION` defaults to the function's own region.
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_SYSTEM_PROMPT = (
    "You are the assistant of a workspace chat session. Answer the user's latest message helpfully and concisely, "
    "using the earlier messages of the conversation as context."
)


class LlmSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    model_id: str = Field(default="", alias="BEDROCK_MODEL_ID")
    region: str = Field(default="", alias="BEDROCK_REGION")
    aws_region: str = Field(default="us-east-1", alias="AWS_REGION")
    endpoint_url: str | None = Field(default=None, alias="BEDROCK_ENDPOINT_URL")
    system_prompt: str = Field(default=DEFAULT_SYSTEM_PROMPT, alias="BEDROCK_SYSTEM_PROMPT")
    # The reply's length limit (Converse inferenceConfig.maxTokens).
    max_tokens: int = Field(default=1024, alias="BEDROCK_MAX_TOKENS", ge=1, le=64_000)
    # How much earlier conversation goes with each request, in approximate tokens (about 4 characters each).
    history_token_budget: int = Field(default=6_000, alias="BEDROCK_HISTORY_TOKEN_BUDGET", ge=0, le=500_000)
    connect_timeout_seconds: float = Field(default=3.0, alias="BEDROCK_CONNECT_TIMEOUT_SECONDS", gt=0)
    # Upper bound for one attempt; each attempt also stops in time for the function to answer before its timeout.
    read_timeout_seconds: float = Field(default=25.0, alias="BEDROCK_READ_TIMEOUT_SECONDS", gt=0)
    # Attempts for throttling and transient server errors (a timed-out attempt is never repeated).
    max_attempts: int = Field(default=3, alias="BEDROCK_MAX_ATTEMPTS", ge=1, le=10)

    @property
    def is_configured(self) -> bool:
        return bool(self.model_id.strip())

    @property
    def effective_region(self) -> str:
        return self.region or self.aws_region


@lru_cache(maxsize=1)
def get_llm_settings() -> LlmSettings:
    environment = {name: value for name, value in os.environ.items() if value != "" or name == "BEDROCK_MODEL_ID"}
    return LlmSettings.model_validate(environment)
