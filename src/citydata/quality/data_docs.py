"""Great Expectations Data Docs for one gate run: the HTML site GE renders from validation results,
written under ``<settings.var_dir>/data_docs/`` (``index.html``), one page per validated batch."""

from __future__ import annotations

from pathlib import Path

from citydata.quality.gate import GateResult, quiet_great_expectations


def build_data_docs(gate: GateResult, directory: Path, run_name: str) -> Path:
    """Render the gate's validation results (kept across runs in ``directory``); returns the index page."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    directory.mkdir(parents=True, exist_ok=True)
    quiet_great_expectations()
    context = gx.get_context(mode="ephemeral")
    for site in list(context.get_site_names()):
        context.delete_data_docs_site(site)  # the default site writes to a temporary directory
    context.add_data_docs_site("citydata", {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(directory)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    run = RunIdentifier(run_name=run_name)
    for validation in gate.validations:
        suite_name = validation.suite_name
        key = ValidationResultIdentifier(ExpectationSuiteIdentifier(suite_name), run, suite_name)
        context.validation_results_store.set(key, validation)
    context.build_data_docs(site_names=["citydata"])
    return directory / "index.html"
