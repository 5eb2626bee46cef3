"""The Python baseline for fl::pool: multiprocessing.Pool.map on the same work and chunk sizes.

usage: python3 mp_pool.py WORK N CHUNKSIZE PROCESSES    prints "N seconds"
  WORK  tiny   x * x on N integers
        spin   about 100 us of CPU per item (busy on the clock), N items
        calls  N calls of map over 8 integers (chunksize 1): the cost of one small map
The pool is started before the clock starts, as forkline's is.
"""
import multiprocessing as mp
import sys
import time


def tiny(x):
    return x * x


def spin(x):
    end = time.perf_counter() + 100e-6
    while time.perf_counter() < end:
        pass
    return x


def main():
    work, n, chunksize, processes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    with mp.Pool(processes) as pool:
        pool.map(tiny, range(processes))  # every worker has started
        start = time.perf_counter()
        if work == "calls":
            for _ in range(n):
                out = pool.map(tiny, range(8), 1)
            assert out == [x * x for x in range(8)]
        else:
            out = pool.map(tiny if work == "tiny" else spin, range(n), chunksize)
            assert len(out) == n
        elapsed = time.perf_counter() - start
    print(n, elapsed)


if __name__ == "__main__":
    main()
