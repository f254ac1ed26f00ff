"""The local document server keeps its documents across restarts (data under var/docstore/)."""

from pymongo import MongoClient

from localmode.docstore import DocStoreServer, free_port


def test_documents_survive_a_restart_of_the_server(tmp_path):
    data, log = tmp_path / "docstore", str(tmp_path / "docstore.log")
    server = DocStoreServer(port=free_port(), storage_path=str(data), log_path=log).start()
    try:
        with MongoClient(server.url) as client:
            client.local_test.ticket_logs.insert_many([{"_id": str(n), "n": n} for n in range(500)])
    finally:
        server.stop()
    assert server.process.returncode is not None

    restarted = DocStoreServer(port=free_port(), storage_path=str(data), log_path=log).start()
    try:
        with MongoClient(restarted.url) as client:
            collection = client.local_test.ticket_logs
            assert collection.count_documents({}) == 500
            assert collection.find_one({"_id": "499"})["n"] == 499
    finally:
        restarted.stop()
