"""The three jobs as commands: each has main(argv) for use from Python and run() for its console script."""
