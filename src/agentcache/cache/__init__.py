"""The cache driver: tier lookup, single-flight fills from the origin, invalidation."""
