"""Playing a browser through Kith's OAuth pages: read the confirmation form as a browser would."""

from __future__ import annotations

from html.parser import HTMLParser


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
