"""The knowledge base shipped with dangka: rule files and policy tables (package data)."""
