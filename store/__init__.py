"""The lakehouse's storage layer: the table catalog (every table's name, schema, partitioning,
properties and description) and the Delta store that reads and writes those tables.

It sits above conf and features (bronze, silver and feature schemas are built from the
landing contract and the feature dictionary) and below models, report and jobs.
"""
