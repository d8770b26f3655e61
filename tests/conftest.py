import sys
from pathlib import Path

# test helpers (corpus_util, progen) import by plain name
sys.path.insert(0, str(Path(__file__).resolve().parent))
