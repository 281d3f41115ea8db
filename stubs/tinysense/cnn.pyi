"""int8 convolutional networks from kind-3 tinysense model files (converted TFLite models).

    model = cnn.load("model.tsm")
    x = array.array("b", bytes(model.input_size))   # int8 NHWC input (h * w * c)
    model.quantize_input(pixels, x)                 # uint8 camera pixels -> int8 input
    label = model.predict(x)                        # class index
    model.scores(x, out)                            # out: array('b', model.output_shape[0])

Operators: CONV_2D, DEPTHWISE_CONV_2D, MAX_POOL_2D, AVERAGE_POOL_2D, MEAN over the spatial
axes, FULLY_CONNECTED (RESHAPE and a final SOFTMAX are removed by the converter; docs/cnn.md).
Scores are bit-exact to LiteRT's reference kernels. Loading checks every layer and that no
accumulator can leave int32, and allocates one activation arena; an inference allocates nothing
(viper kernels; ports without the native emitters use a plain-Python twin).
"""

from array import array
from typing import BinaryIO

CONV_2D: int
"""Layer op code 1 (docs/cnn.md)."""
DEPTHWISE_CONV_2D: int
"""Layer op code 2."""
MAX_POOL_2D: int
"""Layer op code 3."""
AVERAGE_POOL_2D: int
"""Layer op code 4."""
MEAN: int
"""Layer op code 5 (mean over height and width)."""
FULLY_CONNECTED: int
"""Layer op code 6."""
OP_NAMES: tuple[str, ...]
"""TFLite op names indexed by op code ("" at 0)."""

class CNN:
    """A loaded int8 CNN. Make one with :func:`load`."""

    input_shape: tuple[int, int, int]
    """Input (height, width, channels); the input is NHWC, ``(y * w + x) * c + ch``."""
    input_size: int
    """height * width * channels: the length of ``x``."""
    output_shape: tuple[int]
    """``(n,)``: number of scores (classes)."""
    n_layers: int
    """Number of layers (after RESHAPE / SOFTMAX / QUANTIZE removal)."""
    layer_names: list[str]
    """One per layer, e.g. ``"CONV_2D 3x3 s1 8ch"``, ``"MAX_POOL_2D 2x2 s2 8ch"``, ``"MEAN 8x8"``,
    ``"FULLY_CONNECTED 16->10"``."""
    arena_bytes: int
    """Bytes of the activation arena (two ping-pong buffers, with the zero-point border each
    padded convolution reads)."""
    input_scale: float
    """Scale of the int8 input: real value = input_scale * (x - input_zero_point)."""
    input_zero_point: int
    """Zero point of the int8 input, -128..127."""
    scores_scale: float
    """Scale of the int8 scores (the logits before the removed SOFTMAX)."""
    scores_zero_point: int
    """Zero point of the int8 scores, -128..127."""
    softmax_beta: float
    """Beta of the removed final SOFTMAX; 0.0 if the model had none."""
    class_names: tuple[str, ...] | None
    """Class names stored by the converter, or None."""

    def __init__(self, h, plan, w, arena, qprm, pixl, names, layer_names, geo_in, geo_out) -> None:
        """Internal: use :func:`load`."""

    def predict(self, x: array[int] | bytearray) -> int:
        """Class index (0 .. n-1) of the input ``x``: the first index of the largest score
        (the class the model's softmax ranks first).

        Parameters: ``x``, ``array('b')`` or ``bytearray`` (int8 bit patterns), or ``array('B')``
        of uint8 pixels (mapped as :meth:`quantize_input` does, into a buffer made at the first
        such call), of exactly ``input_size`` values, NHWC. The last int8 and the last pixel
        buffer are checked once and remembered; calling again with them allocates nothing.

        Raises: ``TypeError`` if ``x`` is none of these; ``ValueError`` if its length is not
        ``input_size``.
        """

    def scores(self, x: array[int] | bytearray, out: array[int] | bytearray) -> int:
        """Run the model on ``x`` and write the int8 scores tensor into ``out``
        (``array('b')`` or ``bytearray`` of ``output_shape[0]``): the logits feeding the final
        SOFTMAX, or the graph's output without one; bit-exact to LiteRT's reference kernels.
        Returns the predicted class index. Allocates nothing for known buffers.

        Raises: as :meth:`predict` for ``x``; ``TypeError`` / ``ValueError`` for a bad ``out``.
        """

    def profile(self, x: array[int] | bytearray, out_us: array[int]) -> int:
        """Run the model once and write each layer's time in microseconds (``time.ticks_us``)
        into ``out_us`` (``array('i')`` of ``n_layers``; the input copy, and the quantization of
        ``array('B')`` pixels, count to layer 0).
        Returns the predicted class index. For benchmarks.

        Raises: ``TypeError`` if ``out_us`` is not ``array('i')`` of length ``n_layers``.
        """

    def quantize_input(self, pixels_u8: bytearray | bytes | array[int], out_i8: array[int] | bytearray) -> array[int] | bytearray:
        """Map uint8 camera pixels (``bytearray``/``bytes``/``array('B')``, ``input_size``
        values, NHWC) to the model's int8 input in ``out_i8`` with the converter's 256-entry
        table (pixel range, input scale and zero point; docs/cnn.md). Returns ``out_i8``.

        Raises: ``TypeError`` for other pixel buffers; ``ValueError`` for wrong lengths.
        """

def load(source: str | BinaryIO | bytes | bytearray) -> CNN:
    """Load an int8 CNN from a kind-3 tinysense model file: a path, a binary stream with
    ``readinto`` (read from its position, not closed) or the file's bytes.

    Checks, once: the container (magic, kind, truncation, CRC-32), every layer's shape, padding
    and indices against its neighbours and the sections, sorted MEAN thresholds, and the
    worst-case accumulator of every convolution computed from its weights (|bias| + sum |w| *
    max |x - zero point|, times 2**shift for multipliers > 1) against int32.

    Raises: ``ValueError`` naming the problem, including a model that needs more RAM than
    ``gc.mem_free()`` (the message gives the bytes needed and free) and one whose accumulator
    could leave int32; ``TypeError`` for another kind of source; ``OSError`` if the path
    cannot be opened.
    """
