"""The command-centre report: gather tables (data), draw charts (charts), render HTML (render)."""
