"""Refusals of the campaign lifecycle; the API maps each kind to its HTTP status."""
from __future__ import annotations


class CampaignError(Exception):
    """Base: a readable reason, and `problems` when there are several."""

    status_code = 400

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or [message]


class WrongState(CampaignError):
    """The campaign is not in a status that allows this (409)."""

    status_code = 409


class NotReady(CampaignError):
    """Content or audience not fit to send: incomplete interpretation, empty segment, ... (422)."""

    status_code = 422


class NotAllowed(CampaignError):
    """This person may not do this to this campaign, e.g. approve their own (403)."""

    status_code = 403
