"""The document server a benchmark runs against: MONGO_URL when set, otherwise a throw-away local
document server (SecantusDB, localmode/docstore.py) for the benchmark's lifetime.

SecantusDB is not MongoDB: a figure that includes its work is labelled with the server that did
it (`document_server()`), and is never presented as MongoDB performance.
"""

import os


def ensure_mongo_url(db_name: str) -> str:
    """Sets MONGO_URL (if unset) to a throw-away server's database `db_name`; returns it."""
    if not os.environ.get("MONGO_URL"):
        from localmode.docstore import start_throwaway

        os.environ["MONGO_URL"] = start_throwaway(db_name=db_name)
    return os.environ["MONGO_URL"]


def document_server() -> str:
    """'SecantusDB 0.7.0b3 at 127.0.0.1:port' or 'MongoDB 7.0.x at host:port' (needs Django set up)."""
    from techsupport.mongo import server_description

    info = server_description()
    return f"{info['product']} (wire version {info['version']}) at {info['server']}"
