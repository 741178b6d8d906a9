# SPDX-License-Identifier: GPL-3.0-or-later
"""TAP for the Python tests that gather their checks first."""


def report(checks):
    """Prints checks [(ok, text)] as TAP; returns the exit status (0: all ok)."""
    print("1..%d" % len(checks))
    for i, (ok, text) in enumerate(checks, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, text))
    return 0 if all(ok for ok, _ in checks) else 1
