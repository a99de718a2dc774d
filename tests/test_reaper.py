"""Process-tree reaping: the processes a run started end with it, the interpreter's own helpers stay."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import psutil

from rollcall.reaper import descendants


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False

# A child that ignores SIGTERM and starts a grandchild: reap_children must reach both,
# the stubborn one by SIGKILL after the grace. Run in its own interpreter, so reaping cannot
# touch the processes this test run started.
REAPS = textwrap.dedent("""
    import json, signal, subprocess, sys, time
    import psutil
    from rollcall.reaper import descendants, reap_children

    def running(pid):
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    stubborn = ("import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
                "print('ready', flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, '-c', stubborn], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == 'ready'
    tree = [p.pid for p in descendants()]
    killed = reap_children(grace_s=0.2)
    child.wait(timeout=30)
    # SIGKILL is sent, not waited for: give the kernel a moment to end the orphaned grandchild.
    deadline = time.monotonic() + 20
    while any(running(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.05)
    print(json.dumps({"tree": tree, "child": child.pid, "killed": killed, "alive": [p for p in tree if running(p)]}))
""")


def test_reap_children_ends_the_whole_tree_even_a_process_ignoring_sigterm():
    proc = subprocess.run([sys.executable, "-c", REAPS], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["child"] in seen["tree"]
    assert len(seen["tree"]) == 2  # the child and its grandchild
    assert seen["alive"] == []
    assert seen["killed"] == 2  # both by SIGKILL: the grandchild inherits the ignored SIGTERM


def test_descendants_lists_children_and_grandchildren():
    script = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); print('ready', flush=True); time.sleep(60)"
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        below = [p.pid for p in descendants(child.pid)]
        assert len(below) == 1 and _running(below[0])
        assert child.pid in [p.pid for p in descendants()]
    finally:
        grandchildren = [p.pid for p in descendants(child.pid)]
        child.kill()
        child.wait()
        child.stdout.close()
        for pid in grandchildren:
            os.kill(pid, 9)
    assert not _running(child.pid)
