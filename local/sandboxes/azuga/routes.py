"""Azuga sandbox: the vendor API routes (login, users, trackees, geomarks, TrackMe links)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request

from local.sandboxes.azuga.base import AzugaBase, field_error, is_number
from local.sandboxes.framework import Record, SandboxError, iso, utcnow


def listing(records: list[Record]) -> Response:
    """A plain JSON array (azuga.md documents no paging)."""
    return jsonify(records)


def register(bp: Blueprint, sb: AzugaBase) -> None:
    """Add every documented route to ``bp``."""

    @bp.post("/v3/auth/login")
    def login() -> dict[str, Any]:
        """A Bearer token for the API key (checked by ``authenticate``)."""
        return sb.issue_token()

    @bp.get("/v3/users")
    def users() -> Response:
        """``?userType=driver`` filters by type (case-insensitive); none lists every user."""
        kind = request.args.get("userType", "").lower()
        with sb.lock:
            found = [u for u in sb.all("users") if not kind or str(u["userType"]).lower() == kind]
            return listing([sb.render("users", u) for u in found])

    @bp.get("/v3/trackees")
    def trackees() -> Response:
        """Every vehicle with its paired driver and last location."""
        with sb.lock:
            return listing([sb.render("trackees", t) for t in sb.all("trackees")])

    @bp.post("/v3/geomarks/bulkUpload.json")
    def bulk_upload() -> dict[str, Any]:
        """``{"create": [...]}``: all or nothing; a bad item is a 400, a taken name a 409,
        naming ``create[i].<field>``."""
        body = sb.json_body()
        items = body.get("create")
        if not isinstance(items, list) or not items:
            raise field_error(400, "create must be a non-empty list", "create")
        with sb.lock:
            taken: set[str] = set()
            records = [sb.new_geomark(item, f"create[{i}]", taken) for i, item in enumerate(items)]
            created = [sb.insert("geomarks", record) for record in records]
            return {"created": [sb.render("geomarks", g) for g in created]}

    @bp.get("/v3/geomarks")
    def geomarks() -> Response:
        """Every geomark of the account."""
        with sb.lock:
            return listing([sb.render("geomarks", g) for g in sb.all("geomarks")])

    @bp.delete("/v3/geomarks/<geomark_id>")
    def delete_geomark(geomark_id: str) -> dict[str, Any]:
        """Delete one geomark (404 when unknown)."""
        with sb.lock:
            if sb.get("geomarks", geomark_id) is None:
                raise SandboxError(404, f"Geomark {geomark_id} not found")
            record = sb.store["geomarks"].pop(str(geomark_id))
            return {"id": record["id"], "deleted": True}

    @bp.post("/v1/trackme.json")
    def trackme() -> dict[str, Any]:
        """``{"vehicleId", "userId"?, "ttl" (minutes), "name"?}`` -> ``{"token", "url",
        "expiresAt"}``; the vehicle (and the user, when given) must exist."""
        body = sb.json_body()
        ttl = body.get("ttl")
        if not is_number(ttl) or ttl <= 0 or int(ttl) != ttl:
            raise field_error(400, "ttl must be a positive number of minutes", "ttl")
        if body.get("name") is not None and not isinstance(body["name"], str):
            raise field_error(400, "name must be text", "name")
        with sb.lock:
            if sb.get("trackees", body.get("vehicleId")) is None:
                raise field_error(404, f"Vehicle {body.get('vehicleId')} not found", "vehicleId")
            user = body.get("userId")
            if user is not None and sb.get("users", user) is None:
                raise field_error(404, f"User {user} not found", "userId")
            token = secrets.token_urlsafe(16)
            link = {
                "token": token,
                "url": f"https://trackme.azuga.com/{token}",
                "expiresAt": iso(utcnow() + timedelta(minutes=int(ttl))),
            }
            sb.insert(
                "trackme_links",
                {"vehicleId": body["vehicleId"], "userId": user, "ttl": int(ttl)}
                | {"name": body.get("name")}
                | link,
            )
            return link
