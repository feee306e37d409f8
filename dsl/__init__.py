"""The rule language: grammar, parser, AST, semantic checks, formatter."""
