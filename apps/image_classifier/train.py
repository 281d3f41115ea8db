"""Train the image classifier's two int8 CNNs and write them next to this file (host, TensorFlow).

    python apps/image_classifier/train.py [--epochs 40] [--seed 0]     (``make train-image``)

1. **face / no face** on scikit-image's ``lfw_subset`` (200 grayscale 25x25 images: 100 faces,
   100 non-faces). Each image becomes the 96x96 frame a camera would deliver (centre-aligned
   bilinear upscale, the device's integer definition), then goes through *exactly* the device's
   preprocessing (``tinysense.image.preprocess``: 3x3 area average to 32x32, mean/std
   brightness normalisation), so the network is trained on the pixels the board computes.
   Training images are augmented (mirror, shifts of up to 2 pixels, brightness and contrast);
   a quarter of the images (stratified) is held out and never augmented or seen in training.
2. **digits** (0..9) on scikit-learn's ``digits`` (1,797 8x8 images, 0..16): upscaled to 32x32
   frames by repeating pixels, preprocessed by the device path to 16x16; a quarter held out.

3. **cnn32**, for the benchmark (``benchmarks/bench_cnn.py``) only: a wider 3-layer CNN on 32x32
   input (16, 32, 64 channels, about 4x the face model's work), trained briefly on the digits
   frames at 32x32.

The two app models are small 3-layer CNNs (conv 3x3 + 2x2 max pool, three times, then one dense layer),
quantized to int8 with a representative dataset (int8 input and output), evaluated on the
held-out images with LiteRT's reference kernels, written as ``models/NAME.tflite`` and converted
to ``models/NAME.tsm`` (``tinysense.convert.tflite``). A few held-out images are saved as
binary PGM files in ``images/`` for the replay (``tinysense run image_classifier``).
Runs in a few minutes on a laptop CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from tinysense import image as ti

HERE = Path(__file__).resolve().parent
MODELS = HERE / "models"
IMAGES = HERE / "images"
FRAME = 96  # camera frame side: FrameSize.R96X96
FACE_SIZE = 32  # face model input side (96 / 3)
DIGIT_FRAME = 32  # digit "frames": 8x8 digits with every pixel repeated 4x4
DIGIT_SIZE = 16


def u8(img) -> np.ndarray:
    """Float image in 0..1 -> uint8, rounded."""
    return np.clip(np.round(np.asarray(img, dtype=np.float64) * 255), 0, 255).astype(np.uint8)


def shift(img: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Move the image by (dy, dx) pixels, repeating the edge into the gap."""
    h, w = img.shape
    ys = np.clip(np.arange(h) - dy, 0, h - 1)
    xs = np.clip(np.arange(w) - dx, 0, w - 1)
    return img[ys][:, xs]


def augment(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random variant of a 25x25 float image: mirror, shift, contrast, brightness, noise."""
    a = img[:, ::-1] if rng.random() < 0.5 else img
    a = shift(a, int(rng.integers(-2, 3)), int(rng.integers(-2, 3)))
    a = (a - 0.5) * rng.uniform(0.6, 1.4) + 0.5 + rng.uniform(-0.2, 0.2)
    a = a + rng.normal(0, 0.02, a.shape)
    return np.clip(a, 0, 1)


def face_frame(img25_u8: np.ndarray) -> np.ndarray:
    """The 96x96 camera frame of a 25x25 image (the device's bilinear definition)."""
    return ti.resize_bilinear(img25_u8, FRAME, FRAME)


def face_input(frame: np.ndarray) -> np.ndarray:
    return ti.preprocess(frame, FACE_SIZE)


def digit_frame(d8: np.ndarray) -> np.ndarray:
    """sklearn digit (8x8, 0..16) -> 32x32 uint8 frame, every pixel repeated 4x4."""
    v = (np.asarray(d8, dtype=np.int64) * 255 + 8) // 16
    return np.repeat(np.repeat(v, 4, axis=0), 4, axis=1).astype(np.uint8)


def digit_input(frame: np.ndarray) -> np.ndarray:
    return ti.preprocess(frame, DIGIT_SIZE)


def face_data(seed: int, copies: int, split=None):
    """Training inputs (augmented) and held-out inputs of lfw_subset; ``split``: (train indices,
    test indices) instead of the stratified 75/25 split."""
    from skimage import data
    from sklearn.model_selection import train_test_split

    imgs = data.lfw_subset()  # (200, 25, 25) float 0..1: 100 faces, then 100 non-faces
    labels = np.array([1] * 100 + [0] * 100)
    if split is None:
        idx_tr, idx_te = train_test_split(np.arange(200), test_size=0.25, stratify=labels, random_state=seed)
    else:
        idx_tr, idx_te = split
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for i in idx_tr:
        xs.append(face_input(face_frame(u8(imgs[i]))))
        ys.append(labels[i])
        for _ in range(copies):
            xs.append(face_input(face_frame(u8(augment(imgs[i], rng)))))
            ys.append(labels[i])
    test_frames = [face_frame(u8(imgs[i])) for i in idx_te]
    x_te = np.array([face_input(f) for f in test_frames])
    return (np.array(xs), np.array(ys)), (x_te, labels[idx_te]), test_frames, idx_te


def digit_data(seed: int):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    frames = np.array([digit_frame(img) for img in d.images])
    inputs = np.array([digit_input(f) for f in frames])
    idx_tr, idx_te = train_test_split(np.arange(len(d.target)), test_size=0.25, stratify=d.target,
                                      random_state=seed)
    rng = np.random.default_rng(seed)
    # augmentation: the same digit one frame pixel up/down/left/right (a quarter of a digit pixel)
    xs, ys = [inputs[idx_tr]], [d.target[idx_tr]]
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        pick = rng.choice(idx_tr, len(idx_tr) // 2, replace=False)
        xs.append(np.array([digit_input(shift(frames[i], dy, dx)) for i in pick]))
        ys.append(d.target[pick])
    return ((np.concatenate(xs), np.concatenate(ys)), (inputs[idx_te], d.target[idx_te]),
            frames[idx_te], d.target[idx_te])


def build_cnn(size: int, n_classes: int, widths=(8, 16, 32)):
    """The talk's 3-layer CNN: (conv 3x3 same + ReLU, max pool 2x2) x 3, dense, softmax."""
    import tensorflow as tf

    layers = [tf.keras.Input((size, size, 1))]
    for w in widths:
        layers += [tf.keras.layers.Conv2D(w, 3, padding="same", activation="relu"), tf.keras.layers.MaxPooling2D(2)]
    layers += [tf.keras.layers.Flatten(), tf.keras.layers.Dropout(0.25), tf.keras.layers.Dense(n_classes),
               tf.keras.layers.Softmax()]
    return tf.keras.Sequential(layers)


def to_float(x_u8: np.ndarray) -> np.ndarray:
    """Model input: pixels / 255 in 0..1, NHWC with one channel."""
    return (x_u8.astype(np.float32) / 255.0)[..., None]


def train(model, x, y, epochs: int, seed: int, log):
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    model.compile(optimizer=tf.keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    t0 = time.time()
    hist = model.fit(to_float(x), y, epochs=epochs, batch_size=64, verbose=0, shuffle=True)
    log(f"    trained {epochs} epochs on {len(x)} images in {time.time() - t0:.0f} s, "
        f"final training accuracy {hist.history['accuracy'][-1]:.3f}")
    return model


def quantize(model, x_rep: np.ndarray) -> bytes:
    """int8 TFLite (int8 input and output) with a representative dataset of training inputs."""
    import tensorflow as tf

    def rep():
        for i in range(len(x_rep)):
            yield [to_float(x_rep[i:i + 1])]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints the saved model's signature
        return conv.convert()


def litert_predict(tflite: bytes, x_u8: np.ndarray) -> np.ndarray:
    """Class indices from LiteRT's reference kernels for uint8 images, quantized as the device's
    ``quantize_input`` table does (``tinysense.run_image.LiteRT``): the largest logit."""
    from tinysense.run_image import LiteRT

    rt = LiteRT(tflite)
    return np.array([int(np.argmax(rt.logits(img))) for img in x_u8])


def write_pgm(path: Path, img: np.ndarray) -> None:
    img = np.asarray(img, dtype=np.uint8)
    path.write_bytes(f"P5\n{img.shape[1]} {img.shape[0]}\n255\n".encode() + img.tobytes())


CLASS_NAMES = {"face": ["no face", "face"], "digits": [str(d) for d in range(10)],
               "cnn32": [str(d) for d in range(10)]}


def convert(tflite_path: Path, log) -> None:
    """``models/NAME.tflite`` -> ``models/NAME.tsm`` with the class names."""
    try:
        from tinysense.convert import tflite as conv
    except ImportError as e:
        log(f"    not converted ({e}); run: tinysense convert {tflite_path} {tflite_path.with_suffix('.tsm')}")
        return
    n = conv.save(tflite_path, tflite_path.with_suffix(".tsm"), class_names=CLASS_NAMES.get(tflite_path.stem))
    log(f"    {tflite_path.with_suffix('.tsm').name}: {n} bytes (tinysense.convert.tflite)")


def cat_frame() -> np.ndarray:
    """scikit-image's chelsea (a cat), grey, centre 288x288 square -> 96x96 by 3x3 area."""
    from skimage import data

    rgb = data.chelsea().astype(np.int64)  # 300 x 451 x 3
    gray = ((77 * rgb[..., 0] + 150 * rgb[..., 1] + 29 * rgb[..., 2] + 128) >> 8).astype(np.uint8)
    h, w = gray.shape
    y, x = (h - 288) // 2, (w - 288) // 2
    return ti.downscale_area(gray[y:y + 288, x:x + 288], FRAME, FRAME)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--copies", type=int, default=15, help="augmented copies per training face image")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--models", default="face,digits,cnn32",
                    help="comma-separated models to train (default: face,digits,cnn32)")
    ap.add_argument("--cv", type=int, default=0, metavar="K",
                    help="only estimate the face model's accuracy by K-fold cross-validation (writes nothing)")
    ap.add_argument("--convert-only", action="store_true",
                    help="only convert the committed models/*.tflite into .tsm files (no TensorFlow needed)")
    args = ap.parse_args(argv)
    if args.convert_only:
        for name in ("face", "digits", "cnn32"):
            convert(MODELS / f"{name}.tflite", print)
        return 0
    if args.cv:
        return cross_validate(args)
    todo = set(args.models.split(","))
    if todo - {"face", "digits", "cnn32"}:
        ap.error(f"--models: unknown {sorted(todo - {'face', 'digits', 'cnn32'})}; choose face, digits, cnn32")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    MODELS.mkdir(exist_ok=True)
    log = print
    report = {}
    path = MODELS / "training.json"
    if path.is_file():
        report = json.loads(path.read_text())
    rng = np.random.default_rng(args.seed)
    if "face" in todo:
        face(args, report, log)
    if "digits" in todo:
        digits(args, report, log, rng)
    if "cnn32" in todo:
        cnn32(args, report, log, rng)
    (MODELS / "training.json").write_text(json.dumps(report, indent=1) + "\n")
    log(f"report: {MODELS / 'training.json'}")
    return 0


def cross_validate(args) -> int:
    """K-fold stratified cross-validation of the face model (float and int8 LiteRT accuracy)."""
    from sklearn.model_selection import StratifiedKFold

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    labels = np.array([1] * 100 + [0] * 100)
    accs = []
    folds = StratifiedKFold(args.cv, shuffle=True, random_state=args.seed).split(np.zeros(200), labels)
    for k, split in enumerate(folds):
        (x_tr, y_tr), (x_te, y_te), _, _ = face_data(args.seed + k, args.copies, split)
        model = train(build_cnn(FACE_SIZE, 2), x_tr, y_tr, args.epochs, args.seed + k, print)
        rng = np.random.default_rng(args.seed + k)
        tfl = quantize(model, x_tr[rng.choice(len(x_tr), 300, replace=False)])
        f = float(np.mean(np.argmax(model.predict(to_float(x_te), verbose=0), axis=1) == y_te))
        q = float(np.mean(litert_predict(tfl, x_te) == y_te))
        accs.append((f, q))
        print(f"fold {k + 1}/{args.cv}: {len(y_te)} held-out images, float {f:.3f}, int8 {q:.3f}")
    a = np.array(accs)
    print(f"{args.cv}-fold cross-validation: float {a[:, 0].mean():.3f} (min {a[:, 0].min():.3f}), "
          f"int8 {a[:, 1].mean():.3f} (min {a[:, 1].min():.3f})")
    return 0


def export(name, model, x_tr, x_te, y_te, rng, report, log, what, with_float=True):
    """Quantize ``model`` to int8 (300 training images drawn with ``rng`` as the representative
    set), write models/NAME.tflite, log and report the held-out accuracy (float, and int8 on
    LiteRT's reference kernels) and convert it into models/NAME.tsm."""
    entry = {"held_out": len(y_te)}
    float_text = ""
    if with_float:
        entry["float_accuracy"] = float(np.mean(np.argmax(model.predict(to_float(x_te), verbose=0), axis=1) == y_te))
        float_text = f"float {entry['float_accuracy']:.3f}, "
    tfl = quantize(model, x_tr[rng.choice(len(x_tr), 300, replace=False)])
    path = MODELS / f"{name}.tflite"
    path.write_bytes(tfl)
    entry["int8_accuracy"] = float(np.mean(litert_predict(tfl, x_te) == y_te))
    entry.update(tflite_bytes=len(tfl), params=int(model.count_params()))
    log(f"    held-out accuracy ({len(y_te)} {what}): {float_text}int8 (LiteRT) {entry['int8_accuracy']:.3f}; "
        f"{path.name}: {len(tfl)} bytes")
    report[name] = entry
    convert(path, log)


def face(args, report, log):
    log("face / no face: skimage lfw_subset, 96x96 frames -> device preprocessing -> 32x32")
    (x_tr, y_tr), (x_te, y_te), test_frames, _ = face_data(args.seed, args.copies)
    model = train(build_cnn(FACE_SIZE, 2), x_tr, y_tr, args.epochs, args.seed, log)
    export("face", model, x_tr, x_te, y_te, np.random.default_rng(args.seed), report, log, "images")

    # replay images: three held-out faces and three non-faces, and the cat
    folder = IMAGES / "faces"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.pgm"):
        old.unlink()
    faces = [k for k in range(len(y_te)) if y_te[k] == 1][:3]
    others = [k for k in range(len(y_te)) if y_te[k] == 0][:3]
    for j, k in enumerate(faces):
        write_pgm(folder / f"face_{j + 1}.pgm", test_frames[k])
    for j, k in enumerate(others):
        write_pgm(folder / f"nonface_{j + 1}.pgm", test_frames[k])
    write_pgm(folder / "cat.pgm", cat_frame())


def digits(args, report, log, rng):
    log("digits: sklearn digits, 32x32 frames -> device preprocessing -> 16x16")
    (x_tr, y_tr), (x_te, y_te), frames_te, labels_te = digit_data(args.seed)
    model = train(build_cnn(DIGIT_SIZE, 10), x_tr, y_tr, max(10, args.epochs // 2), args.seed, log)
    export("digits", model, x_tr, x_te, y_te, rng, report, log, "digits")
    folder = IMAGES / "digits"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.pgm"):
        old.unlink()
    for d in range(10):
        k = int(np.flatnonzero(labels_te == d)[0])
        write_pgm(folder / f"digit{d}.pgm", frames_te[k])


def cnn32(args, report, log, rng):
    """The benchmark's wider 32x32 CNN (16, 32, 64 channels) on digit frames at 32x32."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    log("cnn32 (benchmark): sklearn digits, 32x32 frames, (16, 32, 64) channels")
    d = load_digits()
    x = np.array([ti.preprocess(digit_frame(img), 32) for img in d.images])
    x_tr, x_te, y_tr, y_te = train_test_split(x, d.target, test_size=0.25, stratify=d.target,
                                              random_state=args.seed)
    model = train(build_cnn(32, 10, widths=(16, 32, 64)), x_tr, y_tr, 10, args.seed, log)
    export("cnn32", model, x_tr, x_te, y_te, rng, report, log, "digits", with_float=False)


if __name__ == "__main__":
    sys.exit(main())
