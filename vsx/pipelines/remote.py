"""Asking a running `vsx serve` for what only it can do: analyse an experiment on the store it owns."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from vsx.errors import VsxError

ANALYZE_TIMEOUT_S = 600.0
"""An analysis of a large experiment takes minutes; the server answers when the report is written."""


class ServerRequestError(VsxError, RuntimeError):
    """The server could not be reached, or refused the request (its error message is passed on)."""


def analyze_on_server(url: str, name: str, admin_token: str) -> dict[str, str]:
    """`POST {url}/v1/admin/analyze/{name}`; returns the report's and results' absolute URLs."""
    base = url.rstrip("/")
    headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
    try:
        response = httpx.post(
            f"{base}/v1/admin/analyze/{quote(name, safe='')}", headers=headers, timeout=ANALYZE_TIMEOUT_S
        )
    except httpx.HTTPError as exc:
        raise ServerRequestError(f"cannot reach the server at {base}: {exc}") from None
    if response.status_code != 200:
        raise ServerRequestError(f"the server at {base} refused: {_message(response)}{_token_hint(response)}")
    body = response.json()
    return {key: base + body[key] for key in ("report", "results")}


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"


def _token_hint(response: httpx.Response) -> str:
    if response.status_code in (401, 403):
        return " (the server and this command need the same VSX_ADMIN_TOKEN)"
    return ""
