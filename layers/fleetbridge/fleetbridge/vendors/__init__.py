"""One typed client per vendor. Clients know paths and models, nothing about flows."""
