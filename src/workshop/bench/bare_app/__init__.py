"""The cold-start benchmark's yardstick, laid out like a step: `app/main.py` with a `create_app`, so that
uvicorn starts it with the same command line as a step's app, `--app-dir` aside (see `cold_start.py`)."""
