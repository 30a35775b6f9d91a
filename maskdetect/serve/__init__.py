"""The page server and its access control: the live page of one machine's run and the dashboard of a cluster's
cameras, each a state (serve/live.py, serve/dashboard.py) that one server (serve/pages.py) serves to those
serve/access.py lets in (docs/entrance.md)."""
