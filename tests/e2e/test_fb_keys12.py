#!/usr/bin/env python3
"""test_fb_keys12.py — Fluent Bit keys brought by issue 12, each with
Fluent Bit's meaning (the page or source file is cited per test):

- [INPUT] dummy flush_on_startup: the first event at start-up, else one
  interval after it.
"""
import json
import os

from harness import check, check_eq, conf, file_out, main, service, wait_for


def lines(t, name):
    try:
        with open(t.path(name)) as f:
            return [json.loads(x) for x in f.read().splitlines() if x.strip()]
    except FileNotFoundError:
        return []


def test_dummy_flush_on_startup(t):
    """docs.fluentbit.io/manual/data-pipeline/inputs/dummy: "flush_on_startup:
    If set to true, the first dummy event is generated at startup" (default
    false); plugins/in_dummy/in_dummy.c calls in_dummy_collect once in
    in_dummy_init when it is set, and its collector timer first fires one
    interval after start-up. Input c (Rate 1, default off) is the clock:
    when its first record is out (1 s in), a's (on, Interval_sec 30) is
    out and b's (off, Interval_sec 30) is not."""
    sl = t.sluice(conf(service(t),
                       ('INPUT', [('Name', 'dummy'), ('Tag', 'a'), ('Interval_sec', 30),
                                  ('Flush_On_Startup', 'true')]),
                       ('INPUT', [('Name', 'dummy'), ('Tag', 'b'), ('Interval_sec', 30)]),
                       ('INPUT', [('Name', 'dummy'), ('Tag', 'c'), ('Samples', 1)]),
                       file_out(t, 'a', 'json_lines', 'a'), file_out(t, 'b', 'json_lines', 'b'),
                       file_out(t, 'c', 'json_lines', 'c')))
    c = wait_for(lambda: lines(t, 'c'), 15, "c's first record", proc=sl)
    a = wait_for(lambda: lines(t, 'a'), 5, "a's record", proc=sl)
    check_eq(sl.stop(), 0, 'exit 0')
    check_eq(len(lines(t, 'a')), 1, 'a: one event (at start-up), the next is 30 s away')
    check_eq(lines(t, 'b'), [], 'b: none yet (its first is one interval after start-up)')
    check(c[0]['date'] - a[0]['date'] > 0.5, "c's first event one interval (1 s) after a's",
          '%.3f %.3f' % (a[0]['date'], c[0]['date']))


if __name__ == '__main__':
    main([test_dummy_flush_on_startup])
