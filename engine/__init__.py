"""The inference engine: compiles checked rules to durable_rules and runs households through them."""
