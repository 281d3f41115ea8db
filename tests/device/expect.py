# Shared by the device tests: assert that a call raises, with the words a user needs in its message.


def expect_error(exc, fn, *args, words=(), **kwargs):
    """Call ``fn(*args, **kwargs)``; pass only if it raises ``exc`` whose message contains every
    string in ``words``. Returns the message."""
    try:
        fn(*args, **kwargs)
    except exc as e:
        msg = str(e)
        for w in words:
            assert w in msg, (w, msg)
        return msg
    raise AssertionError("no %s from %s%r" % (exc.__name__, getattr(fn, "__name__", fn), args))
