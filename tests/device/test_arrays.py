# arrays.typecode: the one probe every kernel uses to refuse a buffer of the wrong type.
import array
from tinysense import arrays


def test_every_typecode_is_told_apart():
    for tc in "bBhHiIqQfd":
        a = array.array(tc, [7, 8])
        assert arrays.typecode(a) == tc, (tc, arrays.typecode(a))
        assert a[0] == 7 and a[1] == 8  # the probe puts the value back


def test_other_objects_and_empty_arrays():
    for obj in (bytearray(4), b"ab", [1, 2], memoryview(bytearray(4)), array.array("h"), None, 3):
        assert arrays.typecode(obj) is None
