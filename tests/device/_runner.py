# Runs the test_* functions of one device test module on MicroPython and reports each result
# between markers that tests/conftest.py parses. Usage: micropython _runner.py MODULE [NAME ...]
import sys
import io
import gc

name = sys.argv[1]
wanted = sys.argv[2:]
mod = __import__(name)
names = wanted or sorted(n for n in dir(mod) if n.startswith("test_"))
for n in names:
    print("@@START " + n)
    gc.collect()
    try:
        getattr(mod, n)()
        print("\n@@PASS " + n)
    except BaseException as e:  # noqa: B036 - report every failure, including SystemExit
        buf = io.StringIO()
        sys.print_exception(e, buf)
        print("\n@@FAIL " + n)
        print(buf.getvalue())
        print("@@END " + n)
