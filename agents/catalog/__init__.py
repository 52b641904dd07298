"""Plain-data agent catalogs (no Django imports)."""
