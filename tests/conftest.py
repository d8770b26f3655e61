import sys
from pathlib import Path

# test helpers (corpus_util, progen) import by plain name
sys.path.insert(0, str(Path(__file__).resolve().parent))

import os  # noqa: E402
import tempfile  # noqa: E402

# builds in tests use a private block cache, never the user's
os.environ.setdefault("MCODEC_CACHE_DIR", tempfile.mkdtemp(prefix="mcodec-test-cache-"))
