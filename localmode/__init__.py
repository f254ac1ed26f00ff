"""Local mode: what `make run` needs on a developer's machine and nothing in production imports.

- `localmode.settings_file`: `var/local.env`, the local settings every process of the checkout
  reads (config/settings.py loads it when it exists).
- `localmode.docstore`: the local MongoDB wire-protocol server (SecantusDB), installed into its own
  virtual environment and run as a separate process — never imported (GPL-2.0, beta).
- `localmode.broker`: the Celery transport of local mode (files under `var/broker/`), so the server,
  its worker and any `manage.py` or `make worker` in another terminal share one queue.
- `localmode.run`: the supervisor behind `make run` (document server, worker with beat, web server).

Stdlib only, except `localmode.broker` (kombu) which only Celery processes of local mode load.
"""
