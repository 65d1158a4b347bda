"""Supervisor reports: a typed spec (spec.py), compiled to parameterised DuckDB SQL (engine.py), parsed from
zh/en questions (nl.py), rendered as charts and exports (charts.py, export.py). Nothing a user or a model
writes is ever executed: only the spec's enumerated metrics, dimensions and operators reach SQL text."""
