"""Archipelago's ComponentResources, grouped by concern (network, clusters, security, add-ons, fleet)."""
