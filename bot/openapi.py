"""The OpenAPI 3 document of the web chat API (``GET /openapi.json``), written by hand.

It describes what ``bot.web`` does, and the fuzzing test (schemathesis) holds the handlers
to it, so a change on either side without the other fails there.
"""

from __future__ import annotations

from typing import Any

from bot.engine.intake import MAX_QUESTION_CHARS
from bot.engine.model import ANSWER_STATUSES

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string", "description": "What is wrong (English)."}},
}

_CITATION = {
    "type": "object",
    "required": ["kind", "id", "title"],
    "properties": {
        "kind": {"type": "string", "examples": ["procedure"]},
        "id": {"type": "string", "examples": ["1.004222"]},
        "title": {"type": "string"},
        "url": {"type": ["string", "null"]},
    },
}

_CHOICE = {
    "type": "object",
    "required": ["number", "label", "list_id"],
    "properties": {
        "number": {"type": "integer", "minimum": 1},
        "label": {"type": "string"},
        "list_id": {"type": "string", "description": "Send it back in `choice` to pick."},
    },
}

_ONLINE_SERVICE = {
    "type": ["object", "null"],
    "properties": {"level": {"type": "string"}, "url": {"type": "string"}},
}

_REPLY_FIELDS: dict[str, Any] = {
    "status": {"type": "string"},
    "text": {"type": "string", "description": "What the citizen reads (Vietnamese)."},
    "choices": {"type": "array", "items": _CHOICE},
    "online_service": _ONLINE_SERVICE,
    "citations": {"type": "array", "items": _CITATION},
}

_ANSWER = {
    "type": "object",
    "required": ["answer_id", "status", "text", "choices", "online_service", "citations"],
    "properties": {
        "answer_id": {"type": "string", "description": "Quote it in /api/feedback."},
        **_REPLY_FIELDS,
        "status": {
            "type": "string",
            "enum": list(ANSWER_STATUSES),
        },
    },
}

_CANNED = {
    "type": "object",
    "required": ["status", "text", "choices", "online_service", "citations"],
    "properties": {"error": {"type": "string"}, **_REPLY_FIELDS},
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_document(*, max_body_bytes: int) -> dict[str, Any]:
    """The document, with the body size limit this app enforces."""
    too_large = f"Body over {max_body_bytes} bytes"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Trợ lý TTHC — web chat API",
            "version": "1",
            "description": (
                "Questions about Vietnamese administrative procedures, answered from the "
                "published knowledge base. Bodies are JSON (nesting ≤ 64 levels, numbers "
                f"≤ 64 characters) of at most {max_body_bytes} bytes."
            ),
        },
        "paths": {
            "/api/chat": {
                "post": {
                    "operationId": "chat",
                    "summary": "Ask a question (or pick a numbered choice) and get the answer",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["message"],
                                    "properties": {
                                        "message": {
                                            "type": "string",
                                            "minLength": 1,
                                            "maxLength": MAX_QUESTION_CHARS,
                                            "pattern": r"\S",
                                            "examples": ["Lệ phí đăng ký thường trú?"],
                                        },
                                        "session_id": {
                                            "type": "string",
                                            "maxLength": 64,
                                            "description": "Keeps the conversation.",
                                        },
                                        "choice": {
                                            "type": "object",
                                            "required": ["list_id", "number"],
                                            "properties": {
                                                "list_id": {"type": "string", "maxLength": 32},
                                                "number": {
                                                    "type": "integer",
                                                    "minimum": 1,
                                                    "maximum": 99,
                                                },
                                            },
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _json(_ANSWER, "The answer (status `error`: apology)"),
                        "400": _json(_ERROR, "Not JSON, too deep, or no usable `message`"),
                        "413": _json(
                            _CANNED,
                            f"`message` over {MAX_QUESTION_CHARS} characters, or "
                            f"{too_large.lower()}: status `too_long`, `text` says what to do",
                        ),
                        "429": _json(_CANNED, "Too many messages: status `rate_limited`"),
                    },
                }
            },
            "/api/feedback": {
                "post": {
                    "operationId": "feedback",
                    "summary": "Rate an answer 👍 (`up`) or 👎 (`down`)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["answer_id", "value"],
                                    "properties": {
                                        "answer_id": {"type": "string"},
                                        "value": {"type": "string", "enum": ["up", "down"]},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "204": {"description": "Recorded"},
                        "400": _json(_ERROR, "Not JSON, too deep, or a bad `value`"),
                        "404": _json(_ERROR, "Unknown `answer_id`"),
                        "413": _json(_ERROR, too_large),
                    },
                }
            },
        },
    }
