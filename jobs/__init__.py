"""Thin Spark entry points of rural-risk: one module per pipeline stage, plus the CLI."""
