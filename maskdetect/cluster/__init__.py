"""Running the toolkit on a Ray cluster: a photo archive on Ray Data, many cameras on Ray actors.

The one part of the toolkit that imports Ray (the ``maskdetect[ray]`` extra); docs/cluster.md.
"""

# The records' file formats, and how many records a part file holds.
FORMATS = ("jsonl", "parquet")
DEFAULT_PART_SIZE = 1000
