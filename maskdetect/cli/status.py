"""The exit statuses of every command (docs/safety.md)."""

EXIT_OK = 0
# Some inputs could not be read or written; the others were done.
EXIT_SOME_INPUTS_FAILED = 1
# Bad input or settings: nothing was done, and one line on stderr says why.
EXIT_BAD_INPUT = 2
# Ctrl+C: outputs written so far are complete, unfinished ones were discarded.
EXIT_INTERRUPTED = 130
