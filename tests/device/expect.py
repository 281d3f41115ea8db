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


def expect_damaged_files_refused(good, load, other_kind, kind_words, cuts=(), flips=()):
    """The container checks every model loader shares: ``load(bytes)`` refuses, with a
    ValueError, a wrong magic, a foreign kind (byte 6 set to ``other_kind``; the message holds
    ``kind_words``), the file cut at each of ``cuts`` (and at a few fixed places), each flipped
    byte in ``flips`` and a flipped CRC bit. ``good`` must load."""
    load(good)
    bad = bytearray(good)
    bad[0:4] = b"TSMX"
    expect_error(ValueError, load, bad, words=("not a tinysense model file",))
    bad = bytearray(good)
    bad[6] = other_kind
    expect_error(ValueError, load, bad, words=kind_words)
    for cut in (0, 3, 11, 12, len(good) // 2, len(good) - 5, len(good) - 1) + tuple(cuts):
        expect_error(ValueError, load, good[:cut], words=("truncated",) if cut >= 4 else ())
    for pos in (len(good) // 2, len(good) - 8, len(good) - 2) + tuple(flips):
        bad = bytearray(good)
        bad[pos] ^= 0x10
        expect_error(ValueError, load, bad)
    bad = bytearray(good)
    bad[-2] ^= 1
    expect_error(ValueError, load, bad, words=("CRC",))
