"""What a visitor's first visit may cost: the budgets the build and the browser are held to."""

FIRST_VISIT_BROTLI = 3_400_000  # bytes on the wire with brotli; Pyodide's wasm alone is 2.74 MB of it
FIRST_VISIT_REQUESTS = 10  # requests for the bundle on a first visit (no card shown)
LOADER_BROTLI = 5_000  # the main-thread loader: everyone downloads it, bots and the holdout too
