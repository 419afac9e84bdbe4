"""Quality: Great Expectations suites, the gate that decides publication, and publishing itself."""
