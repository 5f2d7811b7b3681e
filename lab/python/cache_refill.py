#!/usr/bin/env python3
"""cache_refill: readers hit a cache between its clear and its refill.

Pattern: a dict caches user records. A refresher thread reloads it ten times,
every 2 ms, the naive way: cache.clear(), then load each record from the
"backing store" (one small os.write per record stands in for the query),
then cache.update(). Three reader threads look records up with cache[key],
log each lookup and pause 1 ms. os.write and time.sleep release the GIL, so
a reader can run while the refresher is half way through a reload and find
the cache empty.

Shows as: exit 1, the reader's traceback ending in "KeyError: 'user:3'",
then "FAIL: reader hit the cache during a refill (KeyError 'user:3')".
--fixed builds the new dict first and swaps it in with one assignment.

Measured (2-core VM, Python 3.11, most of each run is interpreter start-up):
untraced 34/300 (11%); under strace -f -o /dev/null 100/100.

Why tracing changes it: the window between clear() and update() holds eight
os.write calls. Under ptrace each of them stops the refresher for the
tracer with the GIL released, so a waiting reader takes the GIL inside the
window almost every time: strace makes this bug worse, not better.

Exit codes as in the Rust lab programs: 0 pass, 1 race (FAIL: on stderr),
2 could not run (error: on stderr). Python 3.11 standard library only.
"""

import os
import sys
import threading
import time
import traceback

USERS = [f"user:{n}" for n in range(8)]
READERS = 3
REFILLS = 10
REFILL_EVERY = 0.002  # seconds
READER_PAUSE = 0.001  # seconds
# Readers stop when the refresher is done; this only bounds a broken run
# (about 5 s of lookups).
MAX_LOOKUPS = 5000


def load_records(log):
    """Reads every record from the "backing store", one syscall each."""
    records = {}
    for n, user in enumerate(USERS):
        os.write(log, f"load {user}\n".encode())
        records[user] = {"id": n, "name": user}
    return records


class Cache:
    def __init__(self, records):
        self.records = records

    def refill_racy(self, log):
        # The bug: readers can run between these two statements.
        self.records.clear()
        self.records.update(load_records(log))

    def refill_fixed(self, log):
        # Readers see the old dict or the new one, never a half-filled one.
        self.records = load_records(log)


def refresher(cache, log, fixed, done):
    try:
        for _ in range(REFILLS):
            time.sleep(REFILL_EVERY)
            if fixed:
                cache.refill_fixed(log)
            else:
                cache.refill_racy(log)
    finally:
        done.set()


def reader(cache, log, n, failures):
    for i in range(MAX_LOOKUPS):
        if failures["done"].is_set():
            return
        user = USERS[(n + i) % len(USERS)]
        try:
            record = cache.records[user]
        except KeyError as err:
            failures["errors"].append(err)
            return
        os.write(log, f"reader {n} got {record['name']}\n".encode())
        time.sleep(READER_PAUSE)


def main(argv):
    args = argv[1:]
    if any(a in ("-h", "--help") for a in args):
        print(__doc__.splitlines()[0] + "\n\nusage: [--fixed]")
        return 0
    unknown = [a for a in args if a != "--fixed"]
    if unknown:
        print(f"error: unexpected argument {unknown[0]!r} (try --help)", file=sys.stderr)
        return 2
    fixed = "--fixed" in args
    try:
        log = os.open(os.devnull, os.O_WRONLY)
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    cache = Cache(load_records(log))
    failures = {"done": threading.Event(), "errors": []}
    threads = [threading.Thread(target=refresher, args=(cache, log, fixed, failures["done"]))]
    threads += [
        threading.Thread(target=reader, args=(cache, log, n, failures)) for n in range(READERS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    os.close(log)
    if failures["errors"]:
        err = failures["errors"][0]
        traceback.print_exception(err)
        print(
            f"FAIL: reader hit the cache during a refill (KeyError {err.args[0]!r})",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
