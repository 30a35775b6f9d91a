"""The command line: argument parsing, exit statuses and one-line messages, one module per command.

Nothing in the library imports this package.
"""
