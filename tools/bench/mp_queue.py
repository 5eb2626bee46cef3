"""The Python baselines over multiprocessing.Queue.

usage: python3 mp_queue.py N                    the three-step pipeline (count, map, sum) over N items
       python3 mp_queue.py N P C [REPEATS]      N integers put by P processes and got by C processes,
                                                REPEATS runs (default 1), the fastest one counts
prints "items seconds"; a wrong result fails an assertion (exit code 1).
"""
import multiprocessing as mp
import sys
import time

DONE = None


def source(n, out):
    for i in range(n):
        out.put(i)
    out.put(DONE)


def square_plus_one(inq, out):
    while (x := inq.get()) is not DONE:
        out.put(x * 2 + 1)
    out.put(DONE)


def pipeline(n):
    a, b = mp.Queue(1024), mp.Queue(1024)
    procs = [mp.Process(target=source, args=(n, a)), mp.Process(target=square_plus_one, args=(a, b))]
    start = time.perf_counter()
    for p in procs:
        p.start()
    total = 0
    while (x := b.get()) is not DONE:
        total += x
    elapsed = time.perf_counter() - start
    for p in procs:
        p.join()
    assert total == n * n, total
    return elapsed


def produce(first, last, q, ready):
    ready.wait()
    for i in range(first, last):
        q.put(i)


def consume(q, seen, results, ready):
    ready.wait()
    count = total = 0
    while (x := q.get()) is not DONE:
        seen[x] += 1
        count += 1
        total += x
    results.put((count, total))


def fan(n, producers, consumers):
    """The time from the moment every process has started to the last consumer's result: the
    producers share the range 0..n, one DONE a consumer follows their last item, and every
    consumer marks what it got in `seen`, which must then hold each item exactly once."""
    q, results = mp.Queue(1024), mp.SimpleQueue()
    seen = mp.RawArray("B", n)
    ready = mp.Barrier(producers + consumers + 1)
    bounds = [n * k // producers for k in range(producers + 1)]
    ps = [mp.Process(target=produce, args=(bounds[k], bounds[k + 1], q, ready)) for k in range(producers)]
    cs = [mp.Process(target=consume, args=(q, seen, results, ready)) for _ in range(consumers)]
    for p in ps + cs:
        p.start()
    ready.wait()
    start = time.perf_counter()
    for p in ps:
        p.join()
    for _ in cs:
        q.put(DONE)
    got = [results.get() for _ in cs]
    elapsed = time.perf_counter() - start
    for c in cs:
        c.join()
    assert all(p.exitcode == 0 for p in ps + cs), [p.exitcode for p in ps + cs]
    assert sum(c for c, _ in got) == n and sum(t for _, t in got) == n * (n - 1) // 2, got
    assert bytes(seen) == b"\x01" * n, "an item was lost or got twice"
    return elapsed


def main():
    n = int(sys.argv[1])
    if len(sys.argv) == 2:
        print(n, pipeline(n))
        return
    producers, consumers = int(sys.argv[2]), int(sys.argv[3])
    repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    print(n, min(fan(n, producers, consumers) for _ in range(repeats)))


if __name__ == "__main__":
    main()
