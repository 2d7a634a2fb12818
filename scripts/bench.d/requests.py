#!/usr/bin/env python3
"""Sends N requests one after another over one kept-alive connection, for counting a server's instructions per
request: `requests.py BASE PATH COUNT` GETs BASE+PATH; with `--input WORKERS` it POSTs a queued input to each
worker of the comma-separated list in turn (PATH is the prefix before /workers). Fails on any non-2xx answer."""

import http.client
import sys
import urllib.parse


def main() -> int:
    args = sys.argv[1:]
    workers = None
    if args[:1] == ["--input"]:
        workers = args[1].split(",")
        args = args[2:]
    base, path, count = args[0], args[1], int(args[2])
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port)
    refused = 0
    for n in range(count):
        if workers is None:
            connection.request("GET", path)
        else:
            body = '{"content":"count %d","when_busy":"queue"}' % n
            target = "%s/workers/%s/input" % (path, workers[n % len(workers)])
            connection.request("POST", target, body, {"content-type": "application/json"})
        answer = connection.getresponse()
        answer.read()
        if not 200 <= answer.status < 300:
            refused += 1
    if refused:
        print("%d of %d requests were refused" % (refused, count), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
