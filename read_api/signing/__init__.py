"""Read routes for content trust: trusted keys and pull decisions."""
