"""HTTP layer of the portal: the catalog dependency and one router per resource."""
