"""Video: sources, the frame loop, tracking, alerts, statistics, consumers, several sources."""
