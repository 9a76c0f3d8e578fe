"""The public disclosure site (一公开) under /public: pages, charts and open data.

routes.py     the pages (Jinja2 templates in templates/, CSS in static/) and the files
opendata.py   CSV (UTF-8 with BOM, formula-neutralised) and NDJSON, streamed
charts.py     SVG bar charts rendered on the server

Everything shown comes from ledger.services.publication, which decides what
the public may see (disclosed results only; personal data masked or redacted).
"""
