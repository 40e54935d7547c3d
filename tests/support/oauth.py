"""Playing a browser through Kith's OAuth pages: read the confirmation form as a browser would;
settings routed to the Google emulator."""

from __future__ import annotations

from html.parser import HTMLParser

from pydantic import SecretStr

EMULATOR_SECRET = SecretStr("kith-emulator-secret")  # the Google emulator's client secret


def google_settings(settings, emu, *, quota_scale: float | None = None, redis_url: str | None = None, **extra):
    """`settings` routed to a Google emulator (its URLs and client secret), at its quota
    scale and with the quota kept in `redis_url` when given."""
    update = {**emu.settings_overrides(), "google_client_secret": EMULATOR_SECRET, **extra}
    if quota_scale is not None:
        update["google_quota_scale"] = quota_scale
    if redis_url is not None:
        update["redis_url"] = redis_url
    return settings.model_copy(update=update)


class _Form(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action, self.fields, self.checkboxes = None, {}, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action")
        elif tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value", "")
        elif tag == "input" and attrs.get("type") == "checkbox":
            self.checkboxes.append(attrs["name"])


def read_form(page: str) -> _Form:
    form = _Form()
    form.feed(page)
    return form


def confirmation_form(page: str, **extra) -> dict:
    """The hidden fields of a confirmation page's form, plus what the person ticks or clicks."""
    return {**read_form(page).fields, "decision": "connect", **extra}
