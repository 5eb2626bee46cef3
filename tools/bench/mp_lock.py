"""The Python baseline for fl::lock: multiprocessing.Lock doing what bench_mp_toolbox's lock rows do.

usage: python3 mp_lock.py pingpong N [REPEATS]   two processes take the lock strictly in turn, N turns
                                                 each (2N hand-offs)
       python3 mp_lock.py alone N [REPEATS]      one process takes and releases it N times
REPEATS runs (default 1), the fastest one counts; prints "count seconds" (count: hand-offs, or
acquire + release pairs); a wrong result fails an assertion (exit code 1).
"""
import multiprocessing as mp
import sys
import time


def player(me, n, lock, turn, ready, results):
    """Takes the lock; when the shared turn counter says it is this player's turn, advances it (so
    the other player goes next); releases the lock. Until it has had n turns."""
    ready.wait()
    mine = 0
    while mine < n:
        with lock:
            if turn.value % 2 == me:
                turn.value += 1
                mine += 1
    results.put(mine)


def pingpong(n):
    """The time from both players' start to both players' last turn."""
    lock, turn, ready, results = mp.Lock(), mp.RawValue("q", 0), mp.Barrier(3), mp.SimpleQueue()
    players = [mp.Process(target=player, args=(me, n, lock, turn, ready, results)) for me in (0, 1)]
    for p in players:
        p.start()
    ready.wait()
    start = time.perf_counter()
    got = [results.get() for _ in players]
    elapsed = time.perf_counter() - start
    for p in players:
        p.join()
    assert got == [n, n] and turn.value == 2 * n, (got, turn.value)
    return elapsed


def alone(n):
    lock = mp.Lock()
    count = 0
    start = time.perf_counter()
    for _ in range(n):
        lock.acquire()
        count += 1
        lock.release()
    elapsed = time.perf_counter() - start
    assert count == n, count
    return elapsed


def main():
    mode, n = sys.argv[1], int(sys.argv[2])
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    run = {"pingpong": pingpong, "alone": alone}[mode]
    print(2 * n if mode == "pingpong" else n, min(run(n) for _ in range(repeats)))


if __name__ == "__main__":
    main()
