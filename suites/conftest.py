"""Suite-wide set-up, kept tiny.

OpenMP's default wait policy lets idle threads spin; on a shared 2-core machine a spinning
thread waits out the time slice of a descheduled sibling at every parallel op, which made
FAME's many small map ops 10-25x slower in benchmarks. Set before torch loads its OpenMP
runtime (this file is imported before any test module); an explicit setting wins.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
