"""The JSON API (FastAPI): routes only. `service.api.app.create_app(settings)` builds the
app that `kith serve` runs; the dashboard and the digest's web pages are mounted on it.

This package imports nothing on import, so importing one of its modules from outside
(service.digest.web uses api.deps) never loads the app, which mounts those very modules.
What the dashboard shares with the API lives outside api/ (service.providers.web_flow,
service.account_health, service.ties): the dashboard imports nothing from here.
"""
