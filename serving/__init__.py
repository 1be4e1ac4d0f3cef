"""FastAPI serving layer: assignment, variant search, event logging, web UI. `serving.app.create_app(config)`.

HTTP API (OpenAPI at /docs; the user id is the `X-User-Id` header everywhere it is needed):
- `POST /v1/search`: JSON `{"image_id": ..., "k": 1..100}` or multipart (`image` file, optional `k` field).
  Targeting attributes come from `X-Attr-<name>` headers (lower-cased, `-` → `_`), so both body forms take them.
  Answers `request_id`, `experiment`/`variant` (first assignment by layer; "" / "default" outside experiments),
  every `assignments` entry, `results` (`image_id`, `score`, `position`, `url`, `label`), `latency_ms`.
  Logs one `search` event and one `impression` per result *per assignment* (a user in two layers counts in both
  experiments' analyses); a 4xx before the engine ran (bad image, unknown id) is not logged.
- `POST /v1/events` (202): one click/dwell report or `{"events": [...]}`; `event_id` optional (client-supplied ids
  make retries idempotent); the server sets `ts`; an unseen well-formed `request_id` is accepted and tagged with
  the body's `experiment`/`variant` (another worker served it).
- `GET /v1/images/{image_id}` (ids may contain `/`): PNG, `ETag` + `Cache-Control: public, max-age=86400,
  immutable`, 304 on `If-None-Match`.
- `GET /v1/experiments`, `GET /v1/experiments/{name}`, `GET /v1/assignment?user_id=`.
- `POST /v1/admin/reload`: `Authorization: Bearer <admin_token>`; no token configured ⇒ 403 (disabled, never open).
- `/healthz`, `/readyz`, `/metrics`; the web page at `/` (user id in the `vsx_uid` cookie).

Errors are `{"error": {"code", "message"[, "errors"]}}` (`serving/errors.py` is the only place with status codes):
400 malformed JSON or multipart; 401 bad admin token; 403 admin disabled; 404 unknown image / experiment / route;
405 wrong method; 413 body over the route's limit, image over the byte *or pixel* limit (a decompression bomb is
"too large", like an oversized file), event batch over `max_batch`; 415 a body that is neither JSON nor multipart;
422 schema violations (missing `X-User-Id`, k out of range, malformed request id, unknown event type), an image
that does not decode, an invalid configuration on reload (every problem listed in `errors`); 500 only for bugs,
without a traceback.
"""
