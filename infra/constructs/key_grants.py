"""Conditions for using the lake key through one AWS service: written once, used by every role."""

from __future__ import annotations

from typing import Any


def via_service(service: str, region: str) -> dict[str, Any]:
    """The condition that limits a key grant to calls ``service`` makes on the caller's behalf."""
    return {"kms:ViaService": f"{service}.{region}.amazonaws.com"}
