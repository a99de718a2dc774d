"""rollcall serve: the history as a live status page, a JSON API, README badges and Prometheus
metrics (`rollcall serve`, `rollcall watch --listen`).

One module per concern: `snapshot` (the served picture, rebuilt when the store changes),
`source` (read connections, refresh), `documents` (API JSON), `api` (/api/v1 handlers and the
event stream), `pages` (HTML shells, static files), `routes` (pages, badges, metrics, probe),
`badges`, `metrics` (prometheus-client), `prober` (/probe), `auth` (listen address, token),
`app` (the aiohttp application and its lifecycle). aiohttp and prometheus-client load only
when serving.
"""
