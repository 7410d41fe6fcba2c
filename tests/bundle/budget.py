"""What a visitor's first visit may cost: the budgets the build and the browser are held to."""

FIRST_VISIT_BROTLI = 3_400_000  # bytes on the wire with brotli; Pyodide's wasm alone is 2.74 MB of it
FIRST_VISIT_REQUESTS = 10  # requests for the bundle on a first visit (no card shown)
# The main-thread loader: everyone downloads it, bots and the holdout too. 5,000 B until consent
# modes, erasure and the settled() sync point joined it (5,139 B measured); 5,300 until the lift's
# visitor id for checkouts, vouched beacons, whyNot() and the debug switch did (5,434 B); 5,500 until
# the wake-up at the engine's next due instant did (5,536 B; the asset map's hashes move it by about
# 10 B from build to build); a little room, no more.
LOADER_BROTLI = 5_600
