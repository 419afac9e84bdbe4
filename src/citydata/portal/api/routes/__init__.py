"""One router per resource: ``datasets`` (HTML pages), ``ckan`` (Action API), ``lineage`` (JSON)."""
