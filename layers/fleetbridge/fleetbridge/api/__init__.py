"""HTTP API: Powertools routers, error mapping and the request guard."""
