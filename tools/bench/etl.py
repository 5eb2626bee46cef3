"""The Python baseline for the ETL benchmark: multiprocessing.Pool + csv, the same checks and totals.

usage: python3 etl.py SALES.csv PROCESSES
The parent reads the rows with the csv module (the only safe way to cut a file whose quoted
fields hold line ends) and hands them to the pool in batches of 10,000; each worker checks and
totals its batch; the parent merges. Prints "seconds S", then "accepted N", "rejected N" and one
"total REGION<TAB>MONTH<TAB>CENTS" line per region and month (names escaped as repr()).
"""
import csv
import multiprocessing as mp
import sys
import time

DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def whole(s):
    if s.startswith("+"):
        s = s[1:]
    if not s or not (s.isdigit() or (s[0] == "-" and s[1:].isdigit())):
        raise ValueError(s)
    return int(s)


def valid_date(d):
    if len(d) != 10 or d[4] != "-" or d[7] != "-":
        return False
    try:
        y, m, day = whole(d[:4]), whole(d[5:7]), whole(d[8:])
    except ValueError:
        return False
    leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
    return 1 <= m <= 12 and 1 <= day <= DAYS[m - 1] + (m == 2 and leap)


def cents(p):
    if not p or p[0] in "+-":
        raise ValueError(p)
    w, dot, f = p.partition(".")
    if len(f) > 2:
        raise ValueError(p)
    c = whole(w) * 100
    if f:
        c += whole(f) * (10 if len(f) == 1 else 1)
    return c


def batch_totals(rows):
    totals, accepted, rejected = {}, 0, 0
    for row in rows:
        if len(row) != 5:
            rejected += 1
            continue
        day, region, product, quantity, price = row
        try:
            q = whole(quantity)
            c = cents(price)
        except ValueError:
            rejected += 1
            continue
        if not valid_date(day) or not region or not product or q < 1:
            rejected += 1
            continue
        key = (region, day[:7])
        totals[key] = totals.get(key, 0) + q * c
        accepted += 1
    return totals, accepted, rejected


def batches(path, size):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        next(reader)
        batch = []
        for row in reader:
            batch.append(row)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch


def main():
    path, processes = sys.argv[1], int(sys.argv[2])
    with mp.Pool(processes) as pool:
        start = time.perf_counter()
        totals, accepted, rejected = {}, 0, 0
        for t, a, r in pool.imap_unordered(batch_totals, batches(path, 10000)):
            for k, v in t.items():
                totals[k] = totals.get(k, 0) + v
            accepted += a
            rejected += r
        seconds = time.perf_counter() - start
    print("seconds", seconds)
    print("accepted", accepted)
    print("rejected", rejected)
    for (region, month), c in sorted(totals.items()):
        print("total", repr(region), month, c, sep="\t")


if __name__ == "__main__":
    main()
