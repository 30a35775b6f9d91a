"""Joining or starting the Ray cluster a run works on."""

import contextlib
import logging
import os
import socket

from maskdetect.errors import InputError
from maskdetect.io.native_output import native_stderr_silenced
from maskdetect.shipped_files import PACKAGE

# A local cluster's shared memory for the objects in flight (photo listings, records, JPEGs).
LOCAL_OBJECT_STORE_BYTES = 300 * 1024 * 1024
# How long joining a cluster waits for its head node to answer.
CONNECT_SECONDS = 5.0


def import_ray():
    """Ray, or one clear line when the extra is not installed."""
    try:
        import ray
    except ImportError:
        raise InputError("--ray needs Ray: pip install 'maskdetect[ray]' (or -r requirements-ray.txt)") from None
    return ray


def connect(address="local", num_cpus=None, verbose=False):
    """Start a local Ray ('local' or None), find a running one ('auto') or join one at ``address``.

    Workers on this machine import this copy of maskdetect; on other machines, the one installed there.
    Ray's own messages are kept to errors unless ``verbose``. Returns the ray module.
    """
    ray = import_ray()
    if ray.is_initialized():
        return ray
    if address not in (None, "local", "auto"):
        check_reachable(address)
    if not verbose:
        # Ray's native layers log warnings about its own internals (constructor arguments in the object store)
        # to stderr as errors; the session's log files under /tmp/ray keep them either way.
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    paths = [str(PACKAGE.parent), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    settings = dict(
        include_dashboard=False,
        logging_level=logging.INFO if verbose else logging.ERROR,
        log_to_driver=verbose,
        runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}},
    )
    quiet = contextlib.nullcontext() if verbose else native_stderr_silenced()
    try:
        with quiet:
            _init(ray, address, num_cpus, settings)
    except (ConnectionError, ValueError, RuntimeError) as error:
        if address == "auto":
            raise InputError(
                "no running Ray cluster found from this machine: start one with 'ray start --head', or give --ray HOST:PORT"
            ) from None
        raise InputError(f"cannot reach a Ray cluster at {address}: {str(error).splitlines()[0]}") from None
    import ray.data

    logging.getLogger("ray.data").setLevel(logging.INFO if verbose else logging.ERROR)
    return ray


def check_reachable(address, seconds=CONNECT_SECONDS):
    """Refuse a HOST:PORT (or ray://HOST:PORT) that does not answer: Ray itself would wait for it for minutes."""
    host, _, port = address.split("://")[-1].rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=seconds):
            return
    except ValueError:
        raise InputError(f"a Ray address is HOST:PORT, 'auto' or 'local', got {address!r}") from None
    except OSError as error:
        raise InputError(f"cannot reach a Ray cluster at {address}: {error.strerror or error}") from None


def _init(ray, address, num_cpus, settings):
    if address in (None, "local"):
        ray.init(address="local", num_cpus=num_cpus, object_store_memory=LOCAL_OBJECT_STORE_BYTES, **settings)
    else:
        ray.init(address=address, **settings)


def cluster_cpus(ray):
    """The CPUs of every node of the cluster, as a whole number (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))
