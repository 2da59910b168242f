"""Every function's APIGatewayHttpResolver comes from here, so routing, error mapping and logging behave alike."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from threadline import snapstart  # noqa: F401 - registers the after-restore hook of every HTTP function
from threadline.db.errors import StorageError
from threadline.errors import InvalidRequest, NotFound, ThreadlineError
from threadline.http.errors import ErrorEnvelope, error_response, internal_error_response, storage_error_response
from threadline.models.validation import INVALID_JSON_MESSAGE
from threadline.observability import logger


def create_resolver(envelope: ErrorEnvelope) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()

    @app.exception_handler(ThreadlineError)
    def _answer_domain_error(error: ThreadlineError) -> Response:
        if error.status_code >= 500:
            logger.error("request failed", extra={"error": error.message, "details": error.details})
        return error_response(envelope, error)

    @app.exception_handler(UnicodeDecodeError)
    def _answer_undecodable_body(error: UnicodeDecodeError) -> Response:
        # Powertools' decoded_body decodes a base64 body (API Gateway's choice for non-text bytes) as UTF-8: bytes
        # that are not UTF-8 are the client's mistake, not a server error.
        return error_response(envelope, InvalidRequest(INVALID_JSON_MESSAGE))

    @app.exception_handler(StorageError)
    def _answer_storage_error(error: StorageError) -> Response:
        logger.exception("database failed")
        return storage_error_response(envelope)

    @app.exception_handler(Exception)
    def _answer_unexpected_error(error: Exception) -> Response:
        logger.exception("unhandled error")
        return internal_error_response(envelope)

    @app.not_found
    def _answer_unknown_route(_: Exception) -> Response:
        return error_response(envelope, NotFound("Not found"))

    return app
