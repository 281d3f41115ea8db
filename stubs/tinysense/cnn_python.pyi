"""Plain-Python twin of ``tinysense.cnn_viper`` for ports without the native emitters:
convolution, pooling and MEAN over layer records built by ``cnn.load``, on an arena of biased
activations (byte = int8 value + 128).

Use them only through ``tinysense.cnn``: they trust the records that ``cnn.load`` checked.
Same records and integers as the viper kernels; hundreds of times slower, and it allocates
(Python integers) where the viper kernels do not.
"""

from array import array

def conv(a: bytearray, w: array[int], r: array[int]) -> None:
    """CONV_2D / FULLY_CONNECTED (``r[13] == 0``) or DEPTHWISE_CONV_2D (``r[13]`` = depth
    multiplier) of layer record ``r`` with the biased weights ``w``, arena ``a``: fills the
    input's zero-point border, then TFLite's accumulator and MultiplyByQuantizedMultiplier
    (unbounded Python integers), zero point and clamp per output."""

def pool(a: bytearray, w: array[int], r: array[int]) -> None:
    """MAX_POOL_2D (``r[13] == 0``) or AVERAGE_POOL_2D (TFLite's rounding) over the in-bounds
    part of each window; ``w`` is unused."""

def mean(a: bytearray, w: array[int], r: array[int]) -> None:
    """MEAN over height and width: int8 sum per channel, output by the 255 thresholds in ``r``
    (binary search); ``w`` is unused."""

def put(x: array[int] | bytearray, a: bytearray, g: array[int]) -> None:
    """Copy the int8 input into the arena, biased, in the first layer's (padded) layout
    ``g = (offset, rows, row bytes, row stride)``."""

def get(a: bytearray, out: array[int] | bytearray, g: array[int]) -> None:
    """Copy the ``g[1]`` scores at arena offset ``g[0]`` into ``out`` as int8."""

def argmax(a: bytearray, g: array[int]) -> int:
    """Index of the first largest of the ``g[1]`` scores at arena offset ``g[0]``."""

def lookup(src: bytearray | bytes | array[int], dst: array[int] | bytearray, table: array[int], n: int) -> None:
    """``dst[i] = table[src[i]]`` for ``n`` bytes (uint8 pixels to int8 model input)."""

def flip(b: array[int] | bytearray, n: int) -> None:
    """``b[i] ^= 0x80`` for ``n`` bytes: int8 weights to their biased form and back."""
