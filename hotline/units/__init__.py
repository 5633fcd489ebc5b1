"""Handling units (承办单位) as a tree: bureaus, districts, streets, communities, utilities."""
