"""HTTP controllers, one module per area: browse, packages, api, repository, health."""
