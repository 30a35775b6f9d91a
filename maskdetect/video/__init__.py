"""Video: sources, the frame loop, tracking, alerts, statistics, consumers, many sources at once."""
