#!/usr/bin/env python3
"""Sends N requests one after another over one kept-alive connection, for counting a server's instructions per
request: `requests.py BASE PATH COUNT` GETs BASE+PATH; with `--input WORKERS` it POSTs a queued input to each
worker of the comma-separated list in turn (PATH is the prefix before /workers), and with `--keyed` as well each
input carries an Idempotency-Key of its own, as the backend sends them. Fails on any non-2xx answer.

Each request goes out in one write, head and body together, as wrk sends them (Python's http.client writes a
body after its head, and whether the server then finds the body with the head or streams it in changes its
count by thousands of instructions)."""

import os
import socket
import sys
import urllib.parse


def read_answer(stream) -> int:
    """Reads one answer (a head and a Content-Length body) and returns its status."""
    status_line = stream.readline()
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = stream.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    stream.read(length)
    return status


def main() -> int:
    args = sys.argv[1:]
    workers = None
    keyed = args[:1] == ["--keyed"]
    if keyed:
        args = args[1:]
    if args[:1] == ["--input"]:
        workers = args[1].split(",")
        args = args[2:]
    base, path, count = args[0], args[1], int(args[2])
    url = urllib.parse.urlsplit(base)
    host = "%s:%d" % (url.hostname, url.port)
    connection = socket.create_connection((url.hostname, url.port))
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    stream = connection.makefile("rb")
    refused = 0
    # Keys of their own per run, so a warm-up's keys are not repeats in the counted run.
    run = os.urandom(6).hex()
    for n in range(count):
        if workers is None:
            request = "GET %s HTTP/1.1\r\nhost: %s\r\n\r\n" % (path, host)
        else:
            body = '{"content":"count %d","when_busy":"queue"}' % n
            target = "%s/workers/%s/input" % (path, workers[n % len(workers)])
            key = "idempotency-key: bench-%s-%d\r\n" % (run, n) if keyed else ""
            request = "POST %s HTTP/1.1\r\nhost: %s\r\ncontent-type: application/json\r\n%scontent-length: %d\r\n\r\n%s" % (
                target, host, key, len(body), body)
        connection.sendall(request.encode())
        if not 200 <= read_answer(stream) < 300:
            refused += 1
    if refused:
        print("%d of %d requests were refused" % (refused, count), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
