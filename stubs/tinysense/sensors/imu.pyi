"""Accelerometer sources with a FIFO: :class:`MPU6886` and :class:`MPU6050` on ``machine.I2C``
(register level), and :class:`ReplayIMU`, their twin that plays ``.npy``/``.csv`` recordings
through the same interface (``start``, ``stop``, ``fifo_level``, ``read_fifo``, ``sleep_ms``,
``ticks_ms``, ``done``, ``ended``, ``overflowed``, ``overflows``). See docs/imu.md."""

from typing import Any

CHANNELS: int
"""Values per frame: x, y, z."""
RATES: tuple[int, ...]
"""Sample rates the drivers support, Hz."""
RANGES: tuple[int, ...]
"""Full-scale ranges, g."""
FIFO_BYTES: int
"""FIFO size of both chips, bytes."""
SMPLRT_DIV: int
CONFIG: int
GYRO_CONFIG: int
ACCEL_CONFIG: int
ACCEL_CONFIG2: int
FIFO_EN: int
INT_ENABLE: int
INT_STATUS: int
USER_CTRL: int
PWR_MGMT_1: int
PWR_MGMT_2: int
FIFO_COUNTH: int
FIFO_R_W: int
WHO_AM_I: int
FIFO_OFLOW: int
ACCEL_FIFO_EN: int
USER_FIFO_EN: int
USER_FIFO_RST: int
DEVICE_RESET: int
CHIPS: dict[int, str]
"""WHO_AM_I values of related chips, for the error message."""
KERNEL: str
"""'viper' or 'python': which conversion kernel this port runs."""

class WrongChip(ValueError):
    """WHO_AM_I says another chip than the class drives."""

class NoDevice(OSError):
    """No device answered at the I2C address."""

class MPU6886:
    """MPU6886 accelerometer into its FIFO (8-byte frames: x, y, z, temperature; 128 frames)."""

    NAME: str
    WHO_AM_I_VALUE: int
    FRAME_BYTES: int
    RESET_MS: int
    A_DLPF: dict[int, int]
    i2c: Any
    address: int
    rate: int
    """Sample rate, Hz."""
    range_g: int
    counts_per_g: int
    """32768 // range_g (16384 at 2 g)."""
    channels: int
    light_sleep: bool
    fifo_capacity: int
    """Frames the FIFO holds; that many waiting counts as an overflow."""
    overflows: int
    """Overflows detected so far."""
    overflowed: bool
    """True from an overflow until fifo_level() next reports frames."""
    frames_read: int
    running: bool
    who_am_i: int

    def __init__(self, i2c: Any, address: int = 0x68, rate: int = 100, range_g: int = 2,
                 light_sleep: bool = False) -> None:
        """Reset, identify (WrongChip) and configure the chip; NoDevice if nothing answers."""

    def registers(self) -> list[tuple[int, int]]:
        """The configuration written after the reset, as (register, value) pairs."""

    def start(self) -> None:
        """Reset and enable the FIFO (accelerometer frames at ``rate``)."""

    def stop(self) -> None:
        """Disable and empty the FIFO."""

    def fifo_level(self) -> int:
        """Frames waiting; 0 after an overflow (FIFO reset, counted, flagged)."""

    def read_fifo(self, buf: Any) -> int:
        """Read up to len(buf)//3 waiting frames into array('h') ``buf``; return frames read."""

    @property
    def done(self) -> bool:
        """Always False."""

    @property
    def ended(self) -> bool:
        """Always False."""

    def sleep_ms(self, ms: int) -> None:
        """Wait: machine.lightsleep when light_sleep and available, else time.sleep_ms."""

    def ticks_ms(self) -> int:
        """time.ticks_ms()."""

class MPU6050(MPU6886):
    """MPU6050 accelerometer into its FIFO (6-byte frames, 170 frames)."""

    DLPF: dict[int, int]

    def registers(self) -> list[tuple[int, int]]:
        """The MPU6050 configuration as (register, value) pairs."""

class ReplayIMU:
    """Plays int16 (rows, 3) .npy or x,y,z .csv recordings through the FIFO interface."""

    rate: int
    channels: int
    counts_per_g: int
    fifo_capacity: int
    realtime: bool
    overflows: int
    overflowed: bool
    frames_read: int
    frames_dropped: int
    """Frames lost in overflows."""
    running: bool
    files: list[tuple[str, int, int]]
    """(path, first frame, frames) of each recording played so far."""
    notes: list[str]
    """Notices about truncated or skipped recordings."""
    frames: int
    """Frames in all recordings."""

    def __init__(self, paths: str | list[str], rate: int | None = None, realtime: bool = False,
                 fifo_capacity: int = 128, partial: bool = True, quiet: bool = False) -> None:
        """Check every recording (errors name the file); rate defaults to 100 Hz."""

    def start(self) -> None:
        """Start or resume playing."""

    def stop(self) -> None:
        """Pause playing."""

    def fifo_level(self) -> int:
        """Frames waiting; simulated time moves to the next frame if no sleep_ms came first."""

    def read_fifo(self, buf: Any) -> int:
        """Read up to len(buf)//3 waiting frames into array('h') ``buf``; return frames read."""

    @property
    def done(self) -> bool:
        """Every frame read (or dropped)."""

    @property
    def ended(self) -> bool:
        """The last frame has arrived in the FIFO."""

    def sleep_ms(self, ms: int) -> None:
        """Simulated: move the clock on at once; realtime: time.sleep_ms."""

    def ticks_ms(self) -> int:
        """Milliseconds since the replay was made (simulated or wall clock)."""

    def close(self) -> None:
        """Stop and close the recording being played."""
