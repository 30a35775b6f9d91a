"""Reading and writing: images, output paths and atomic writes, JSON records, reading ahead."""
