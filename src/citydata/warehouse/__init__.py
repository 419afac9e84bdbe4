"""The warehouse: DuckDB connections and the raw change-log tables every connector lands into."""
