"""Collections of real faces, as ``--collect DIR`` writes them: the bundled dataset's faces with their sidecars."""

import cv2
from conftest import bundled_images

from maskdetect.io import collection
from maskdetect.io.images import read_image

CLASSES = ["with_mask", "without_mask", "mask_weared_incorrect", "not_a_face"]


def make_collection(folder, count=6):
    """A collection of ``count`` real faces (masked and not, alternately), unsorted; returns their ids, most
    doubtful first."""
    collection.open_collection(folder, CLASSES)
    masked = bundled_images("with_mask", "fmd", (count + 1) // 2)
    unmasked = bundled_images("without_mask", "fmd", count // 2)
    ids = []
    for rank in range(count):
        truth = "with_mask" if rank % 2 == 0 else "without_mask"
        path = (masked if rank % 2 == 0 else unmasked)[rank // 2]
        image = read_image(path)
        height, width = image.shape[:2]
        face = cv2.resize(image, (128, 128), interpolation=cv2.INTER_AREA)
        guess = truth if rank % 3 else ("without_mask" if truth == "with_mask" else "with_mask")
        probability = round(0.55 + 0.05 * rank, 2)
        entry_id = f"{collection.ID_PREFIX}20250601T120000ab12_{rank + 1:04d}"
        record = {
            "source": "door.mp4",
            "track": rank + 1,
            "person": f"door.mp4#{rank + 1}",
            "doubt": round(1.0 - probability, 4),
            "time": round(2.5 * rank + 1.0, 3),
            "frame": 25 * rank + 10,
            "box": [width // 8, height // 8, width - width // 8, height - height // 8],
            "model": {
                "file": "mask_detector.onnx",
                "guess": guess,
                "label": guess if probability >= 0.7 else None,
                "probability": probability,
                "reason": None if probability >= 0.7 else "unsure",
                "band": "close",
            },
        }
        collection.write_entry(folder, entry_id, _png(face), _png(image), record)
        ids.append(entry_id)
    return ids


def _png(image):
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


def files_in(folder):
    """Every file of a collection, by its path inside it."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())
