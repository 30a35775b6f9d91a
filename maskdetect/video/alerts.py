"""The alert rule: one alert per person who stays unmasked, again only after a while."""


class PersonAlerts:
    """One alert per person who stays unmasked: when their voted label has been an alerting class
    for ``frames`` of their frames in a row; again only after ``realert_s`` seconds (0: never)."""

    def __init__(self, classes, frames, realert_s=0.0):
        self.classes = set(classes)
        self.frames = frames
        self.realert_s = realert_s

    def update(self, people, now):
        """Feed the people in one frame; returns those who raise an alert now."""
        raised = []
        for person in people:
            person.alerting_frames = person.alerting_frames + 1 if person.label in self.classes else 0
            if person.alerting_frames < self.frames:
                continue
            if person.alerted_at is None or (self.realert_s > 0 and now - person.alerted_at >= self.realert_s):
                person.alerted_at = now
                raised.append(person)
        return raised
