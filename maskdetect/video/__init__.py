"""Video: sources, the frame loop, tracking, alerts, statistics, consumers, the live page, several sources."""
