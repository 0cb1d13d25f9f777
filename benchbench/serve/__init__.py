"""`benchbench serve-video`: a queue of video generation jobs over HTTP.

Jobs are kept in SQLite (`store`), run one at a time by a `worker` thread, each in its own
subprocess (`job`) that runs the `ltx2` workload through the normal runner, so every served
generation leaves a result record. The HTTP layer (`app`) needs the `serve` extra
(FastAPI, uvicorn, python-multipart, Pillow); nothing here imports it at module level.
"""
