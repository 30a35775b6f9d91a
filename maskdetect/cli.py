"""What the three scripts share: turning bad input into one line and an exit code."""

import sys


def run_main(main):
    """Run a script's main(); InputError and Ctrl+C become one line on stderr."""
    from maskdetect.errors import InputError

    try:
        return main()
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; outputs written so far are complete, unfinished ones were discarded", file=sys.stderr)
        return 130
