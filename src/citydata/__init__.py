"""citydata: a city data bureau's platform — CDC into a warehouse, dbt base libraries,
quality gates, a lineage-aware catalog and a portal."""

__version__ = "0.1.0"
