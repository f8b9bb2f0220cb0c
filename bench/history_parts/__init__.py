"""Parts of the time-travel / event-log benchmark; `bench/history.py` is the entry point."""
