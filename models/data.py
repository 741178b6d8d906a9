# SPDX-License-Identifier: GPL-3.0-or-later
"""Texture data for training: one class per image, samples are crops of it.

All images are decoded once into memory as uint8 tensors [3, H, W].

The split (written once to models/split.json, then only read and checked):
- unseen classes: UNSEEN_FRACTION of the images, chosen with a fixed seed,
  never used in training (whole-image hold-out, for generalisation tests);
- test crops: in every image, the bottom-right RESERVED x RESERVED square is
  reserved and cut into four TEST_CROP x TEST_CROP test crops (a 2x2 grid).
  Training crops (x and its reference x') are drawn only from positions whose
  whole crop lies outside that square: zero pixel overlap with the test crops.
  (Texture is stationary, so neighbouring training pixels still resemble
  them: the test crops are held-out samples, not a different distribution.)
"""

import json
import os

import math

import numpy as np
import torch
import torch.nn.functional as F

SPLIT_VERSION = 1
SPLIT_SEED = 20240229
UNSEEN_FRACTION = 0.10
TEST_CROP = 64
RESERVED = 2 * TEST_CROP
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def list_images(folder):
    names = [n for n in sorted(os.listdir(folder)) if n.lower().endswith(IMAGE_SUFFIXES)]
    if not names:
        raise FileNotFoundError("no images (%s) in %s" % ("/".join(IMAGE_SUFFIXES), folder))
    return names


def load_image(path):
    """uint8 array [H, W, 3] (RGB).  PIL when present, else GdkPixbuf (installed with GIMP)."""
    try:
        from PIL import Image
    except ImportError:
        Image = None
    if Image is not None:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    import gi
    gi.require_version("GdkPixbuf", "2.0")
    from gi.repository import GdkPixbuf
    pb = GdkPixbuf.Pixbuf.new_from_file(path)
    w, h, nc, stride = pb.get_width(), pb.get_height(), pb.get_n_channels(), pb.get_rowstride()
    raw = np.frombuffer(pb.get_pixels(), dtype=np.uint8)
    rows = np.stack([raw[y * stride:y * stride + w * nc] for y in range(h)])
    img = rows.reshape(h, w, nc)
    if nc == 1:
        img = np.repeat(img, 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


def image_size(path):
    try:
        from PIL import Image
        with Image.open(path) as im:
            return im.size
    except ImportError:
        import gi
        gi.require_version("GdkPixbuf", "2.0")
        from gi.repository import GdkPixbuf
        _, w, h = GdkPixbuf.Pixbuf.get_file_info(path)
        return w, h


def make_split(folder):
    names = list_images(folder)
    n_unseen = int(round(UNSEEN_FRACTION * len(names)))
    rng = np.random.default_rng(SPLIT_SEED)
    unseen = set(rng.choice(len(names), size=n_unseen, replace=False).tolist())
    classes = []
    for i, name in enumerate(names):
        w, h = image_size(os.path.join(folder, name))
        if w < RESERVED + TEST_CROP and h < RESERVED + TEST_CROP:
            raise ValueError("%s: %dx%d is too small for the split" % (name, w, h))
        y0, x0 = h - RESERVED, w - RESERVED
        classes.append({
            "file": name, "width": w, "height": h,
            "role": "unseen" if i in unseen else "train",
            "reserved": [y0, x0, RESERVED, RESERVED],
            "test_crops": [[y0 + dy, x0 + dx] for dy in (0, TEST_CROP) for dx in (0, TEST_CROP)],
        })
    return {
        "version": SPLIT_VERSION,
        "seed": SPLIT_SEED,
        "unseen_fraction": UNSEEN_FRACTION,
        "test_crop_size": TEST_CROP,
        "rule": ("Classes with role 'unseen' are never used in training. In every image the "
                 "square 'reserved' = [y, x, height, width] (bottom-right corner) holds the "
                 "four test crops ('test_crops': [y, x] top-left corners, size "
                 "test_crop_size); training crops and their references are drawn only at "
                 "positions where the whole crop lies outside that square, so they share no "
                 "pixel with any test crop."),
        "classes": classes,
    }


def load_or_make_split(folder, path):
    """The split at path; made and written (atomically) if absent; checked against folder."""
    if os.path.exists(path):
        with open(path) as f:
            split = json.load(f)
        names = list_images(folder)
        if [c["file"] for c in split["classes"]] != names or split.get("version") != SPLIT_VERSION:
            raise ValueError("%s does not describe the images in %s" % (path, folder))
        return split
    split = make_split(folder)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(split_text(split))
    os.replace(tmp, path)
    return split


def split_text(split):
    """JSON with one line per class: small diffs, easy to read."""
    head = {k: v for k, v in split.items() if k != "classes"}
    lines = [json.dumps(head, indent=1)[:-2] + ',\n "classes": [']
    lines.append(",\n".join("  " + json.dumps(c) for c in split["classes"]))
    lines.append(" ]\n}\n")
    return "\n".join(lines)


class TextureData:
    """The images of a split in memory plus the crop samplers of Algorithms 2 and 4."""

    def __init__(self, folder, split, roles=("train",)):
        self.split = split
        self.classes = [c for c in split["classes"] if c["role"] in roles]
        self.images = []
        for c in self.classes:
            img = load_image(os.path.join(folder, c["file"]))
            if img.shape[:2] != (c["height"], c["width"]):
                raise ValueError("%s: size differs from the split" % c["file"])
            self.images.append(torch.from_numpy(img).permute(2, 0, 1).contiguous())

    def __len__(self):
        return len(self.images)

    def data_mean(self):
        """Per-channel mean over every pixel of these images, [0, 1] units."""
        total = torch.zeros(3, dtype=torch.float64)
        count = 0
        for img in self.images:
            total += img.double().sum(dim=(1, 2))
            count += img.shape[1] * img.shape[2]
        return (total / count / 255.0).tolist()

    def train_position(self, rng, k, crop):
        """Uniform top-left corner of a crop that avoids the reserved square of class k."""
        c = self.classes[k]
        h, w = c["height"], c["width"]
        ry, rx, _, _ = c["reserved"]
        if ry < crop and rx < crop:
            raise ValueError("%s: no room for a %d crop outside the test square" % (c["file"],
                                                                                    crop))
        while True:
            y = int(rng.integers(0, h - crop + 1))
            x = int(rng.integers(0, w - crop + 1))
            if y + crop <= ry or x + crop <= rx:
                return y, x

    def crop(self, k, y, x, size, aug=0):
        """uint8 [3, size, size]; aug in 0..7: aug % 4 quarter turns, then a flip if aug >= 4."""
        t = self.images[k][:, y:y + size, x:x + size]
        if aug % 4:
            t = torch.rot90(t, aug % 4, dims=(1, 2))
        if aug >= 4:
            t = torch.flip(t, dims=(2,))
        return t

    def max_region(self, k):
        """The widest square region of class k that fits outside its reserved square."""
        c = self.classes[k]
        ry, rx, _, _ = c["reserved"]
        return min(max(ry, rx), c["height"], c["width"])

    def scaled_crop(self, rng, k, size, scale, aug):
        """float [3, size, size] in [0, 1]: a (size * scale)² region of class k
        outside the reserved square, shrunk to size with an antialiased filter."""
        region = min(self.max_region(k), int(round(size * scale)))
        y, x = self.train_position(rng, k, region)
        t = self.crop(k, y, x, region, aug).float().div_(255.0)
        if region != size:
            t = F.interpolate(t[None], size=(size, size), mode="bilinear",
                              antialias=True, align_corners=False)[0].clamp_(0.0, 1.0)
        return t

    def batch_scaled(self, rng, n, size, paired, max_scale):
        """batch() at several scales: each sample's image is seen shrunk by a
        factor s, log-uniform in [1, max_scale] (capped where the image has no
        room), its reference at the same s and orientation.  So the network
        sees a brick of a 200 px wall whole (issue 19.2)."""
        xs, refs = [], []
        for _ in range(n):
            k = int(rng.integers(0, len(self.images)))
            aug = int(rng.integers(0, 8))
            s = math.exp(float(rng.random()) * math.log(max_scale))
            s = min(s, self.max_region(k) / size)
            xs.append(self.scaled_crop(rng, k, size, s, aug))
            if paired:
                refs.append(self.scaled_crop(rng, k, size, s, aug))
        return torch.stack(xs), (torch.stack(refs) if paired else None)

    def batch(self, rng, n, size, paired):
        """(x, x_ref or None) float [n, 3, size, size] in [0, 1].

        x_ref is another crop of the same image with the same flip/rotation:
        a rotated texture is another texture, so the reference should carry
        the orientation the denoiser is asked to produce.
        """
        xs, refs = [], []
        for _ in range(n):
            k = int(rng.integers(0, len(self.images)))
            aug = int(rng.integers(0, 8))
            y, x = self.train_position(rng, k, size)
            xs.append(self.crop(k, y, x, size, aug))
            if paired:
                y, x = self.train_position(rng, k, size)
                refs.append(self.crop(k, y, x, size, aug))
        x = torch.stack(xs).float().div_(255.0)
        ref = torch.stack(refs).float().div_(255.0) if paired else None
        return x, ref

    def test_crops(self, k):
        """The four held-out crops of class k, float [4, 3, TEST_CROP, TEST_CROP]."""
        s = self.split["test_crop_size"]
        cs = [self.crop(k, y, x, s) for y, x in self.classes[k]["test_crops"]]
        return torch.stack(cs).float().div_(255.0)


def default_split_path():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "split.json")
