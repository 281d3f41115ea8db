"""tinysense.unixport: the unix port dies ("FATAL: uncaught NLR") on an argument, a script path
or a library folder of 256 characters or more; run() and stream() refuse them with a clear
ValueError first."""

from __future__ import annotations

import pytest

from tinysense import unixport


def test_lengths_the_port_takes_run(tmp_path):
    script = tmp_path / "argv.py"
    script.write_text("import sys\nprint(len(sys.argv[1]))\n")
    proc = unixport.run(script, ["a" * unixport.ARG_MAX], check=True)
    assert proc.stdout.strip() == str(unixport.ARG_MAX)


def test_longer_ones_are_refused_before_the_port_crashes(tmp_path):
    script = tmp_path / "argv.py"
    script.write_text("print('ran')\n")
    with pytest.raises(ValueError, match="argument of 256 characters"):
        unixport.run(script, ["a" * 256])
    with pytest.raises(ValueError, match="script of"):
        unixport.run("x" * 300 + ".py")
    with pytest.raises(ValueError, match="library folder"):
        unixport.run(script, libdirs=["/" + "d" * 230])
    with pytest.raises(ValueError, match="shorter path"):
        unixport.stream(script, ["b" * 300], on_line=print)
