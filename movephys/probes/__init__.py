"""Small readers of machine facts: one module per fact, each with a text parser."""
