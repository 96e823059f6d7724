"""The staff console: server-rendered pages (Jinja2 + htmx) over the same domain services as the API."""
