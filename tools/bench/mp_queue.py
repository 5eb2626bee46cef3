"""The Python baseline: the same three-step pipeline (count, map, sum) over multiprocessing.Queue.

usage: python3 mp_queue.py N        prints "items seconds" for N items
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


def main():
    n = int(sys.argv[1])
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
    print(n, elapsed)


if __name__ == "__main__":
    main()
