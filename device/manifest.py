# MicroPython manifest: freezes the tinysense package into a firmware build.
# In your board's manifest add:  include("<path to this checkout>/device/manifest.py")
# (mip and mpremote install from package.json next to this file instead.)
metadata(description="tinysense: sensor DSP and machine learning kernels for MicroPython", version="0.1.0")

package("tinysense")
