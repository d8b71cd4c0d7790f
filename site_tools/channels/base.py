"""What every channel returns, and the errors that stop a run."""

from __future__ import annotations

from dataclasses import dataclass

from ..api_errors import Action


@dataclass(frozen=True)
class Outcome:
    """One API call's result, already classified."""

    ok: bool
    action: Action | None = None  # what to do when not ok
    message_id: str | None = None
    code: int | None = None
    http_status: int | None = None
    retry_after: float | None = None
    detail: str = ""
    #: The request may have reached the server (timeout, dropped connection):
    #: resending could duplicate, so wait for a receipt first.
    uncertain: bool = False


class ChannelStopped(Exception):
    """The whole run must stop (credentials, template, permissions)."""

    def __init__(self, channel: str, outcome: Outcome, explanation: str):
        self.channel = channel
        self.outcome = outcome
        self.explanation = explanation
        super().__init__(f"{channel}: {explanation} (code {outcome.code}, HTTP {outcome.http_status})")
