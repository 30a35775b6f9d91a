"""The video loop as a plain generator over one face record (no video file, no threads)."""

import threading

from helpers.stand_in import StandInDetector, frames

from maskdetect.video.alerts import PersonAlerts
from maskdetect.video.loop import analyse_frames
from maskdetect.video.tracking import FaceTracker


def test_the_video_loop_is_a_generator_of_frame_results_over_one_face_record():
    detector = StandInDetector()
    before = threading.active_count()
    results = list(
        analyse_frames(
            detector,
            frames(20, face_from=2),
            FaceTracker(30.0),
            PersonAlerts({"without_mask"}, 5),
            frame_rate=30.0,
            find_ahead=False,
        )
    )
    assert threading.active_count() == before
    assert [result.index for result in results] == list(range(20))
    assert [result.time for result in results[:3]] == [0.0, 1 / 30, 2 / 30]
    faces = [face for result in results for face in result.faces]
    # The objects the detector made are the ones the classifier and the tracker filled in.
    assert len(faces) == len(detector.made) and all(face is made for face, made in zip(faces, detector.made))
    assert all(face.label == "without_mask" for face in faces)
    tracked = [face for face in faces if face.track_id is not None]
    assert len(tracked) >= 15 and len({face.track_id for face in tracked}) == 1
    assert all(face.person_label == "without_mask" for face in tracked)
    alerted = [result.index for result in results if result.alerts]
    assert len(alerted) == 1 and alerted[0] >= 6  # one alert, once the person was unmasked for 5 tracked frames
