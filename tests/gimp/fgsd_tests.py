# SPDX-License-Identifier: GPL-3.0-or-later
#
# Python half of the GIMP plug-in tests, run by run_gimp_tests.py inside
# gimp-console-3.0 with --batch-interpreter=python-fu-eval (exec of this
# file).  Parameters come in the environment: FGSD_TEST_DATA (sample images),
# FGSD_TEST_OUT (results: py-*.png, checked by the runner), FGSD_TEST_MODEL,
# FGSD_TEST_STEPS, FGSD_TEST_PLUGIN (the plug-in executable, for the kill
# tests), FGSD_TEST_GUIDE_MODEL (guidance's model; GIMP runs with
# FGSD_GUIDE_MODEL naming it too, the plug-in's default).  Each check prints "CHECK ok|FAIL name detail"; "MARK begin|end
# name" lines delimit output the runner inspects (the backend notice).
import json
import math
import os
import struct
import subprocess
import sys
import time
import zlib

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gegl, Gimp, Gio  # noqa: E402

DATA = os.environ["FGSD_TEST_DATA"]
OUT = os.environ["FGSD_TEST_OUT"]
MODEL = os.environ["FGSD_TEST_MODEL"]
STEPS = int(os.environ["FGSD_TEST_STEPS"])
PLUGIN = os.environ.get("FGSD_TEST_PLUGIN", "")
GUIDE = os.environ.get("FGSD_TEST_GUIDE_MODEL", "")
FAST = {"step-size": 0.3, "beta": 0.3, "final-noise": 0.05, "max-steps": STEPS}
PDB = Gimp.get_pdb()


def check(name, ok, detail=""):
    print("CHECK %s %s %s" % ("ok" if ok else "FAIL", name, detail), flush=True)
    return ok


def load(name):
    return Gimp.file_load(Gimp.RunMode.NONINTERACTIVE,
                          Gio.File.new_for_path(os.path.join(DATA, name)))


def add_layer_from(image, name, position):
    layer = Gimp.file_load_layer(Gimp.RunMode.NONINTERACTIVE, image,
                                 Gio.File.new_for_path(os.path.join(DATA, name)))
    image.insert_layer(layer, None, position)
    return layer


def pixels(drawable):
    """The drawable's pixels as 16-bit RGBA bytes (exact for 8 and 16 bits)."""
    buf = drawable.get_buffer()
    return buf.get(buf.get_extent(), 1.0, "R'G'B'A u16", Gegl.AbyssPolicy.NONE)


def same_layer(name, a, b):
    """Checks that two results are the same image: equal up to 2 of 255 per
    channel.  The engine is bit-exact run to run (the plug-in runs it
    deterministic), but each plug-in process lets babl pick its pixel
    conversion paths by timing them, and paths of different rounding can
    win under load (a CI run failed an exact comparison, session 12).  A
    different texture differs by far more."""
    pa, pb = pixels(a), pixels(b)
    if len(pa) != len(pb):
        return check(name, False, "sizes differ")
    va, vb = struct.unpack("<%dH" % (len(pa) // 2), pa), struct.unpack("<%dH" % (len(pb) // 2), pb)
    diff = [abs(x - y) for x, y in zip(va, vb)]
    worst, mean = max(diff), sum(diff) / len(diff)
    return check(name, worst <= 2 * 257, "max %d, mean %.2f of 65535" % (worst, mean))


def export(layer, name):
    image = Gimp.Image.new(layer.get_width(), layer.get_height(), Gimp.ImageBaseType.RGB)
    copy = Gimp.Layer.new_from_drawable(layer, image)
    image.insert_layer(copy, None, 0)
    copy.set_offsets(0, 0)
    Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, image,
                   Gio.File.new_for_path(os.path.join(OUT, name)), None)
    image.delete()


def run(procedure, image, drawables, **args):
    """Calls procedure non-interactively; (status, layer or error, seed)."""
    proc = PDB.lookup_procedure(procedure)
    config = proc.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", drawables)
    args.setdefault("model", MODEL)
    for key, value in args.items():
        key = key.replace("_", "-")
        if key in ("model", "guide-model"):
            value = Gio.File.new_for_path(value) if value else None
        config.set_property(key, value)
    result = proc.run(config)
    status = result.index(0)
    if status == Gimp.PDBStatusType.SUCCESS:
        return status, result.index(1), result.index(2)
    return status, result.index(1) if result.length() > 1 else "", None


def succeeded(name, outcome):
    status, value, _ = outcome
    return check(name + "-runs", status == Gimp.PDBStatusType.SUCCESS,
                 "" if status == Gimp.PDBStatusType.SUCCESS else "%s: %s" % (status, value))


def test_synthesize():
    image = load("forest-floor.png")
    layer = image.get_layers()[0]
    before = pixels(layer)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 16, 16, 96, 96)
    outcome = run("plug-in-fgsd-synthesize", image, [layer], width=64, height=48, seed=4321,
                  **FAST)
    if not succeeded("py-synthesize", outcome):
        return
    result, seed = outcome[1], outcome[2]
    check("py-synthesize-layers", len(image.get_layers()) == 2, str(len(image.get_layers())))
    check("py-synthesize-size", (result.get_width(), result.get_height()) == (64, 48),
          "%dx%d" % (result.get_width(), result.get_height()))
    check("py-synthesize-name", result.get_name() == "Texture (seed 4321)", result.get_name())
    check("py-synthesize-seed", seed == 4321, str(seed))
    check("py-synthesize-source-unchanged", pixels(layer) == before)
    selected = image.get_selected_layers()
    check("py-synthesize-selected", len(selected) == 1 and selected[0].get_id() == result.get_id())
    export(result, "py-synthesize.png")

    # Random seed: a fresh seed, reported in the name and the return value.
    outcome = run("plug-in-fgsd-synthesize", image, [layer], width=32, height=32,
                  random_seed=True, **FAST)
    if succeeded("py-random-seed", outcome):
        check("py-random-seed-name",
              outcome[1].get_name() == "Texture (seed %d)" % outcome[2], outcome[1].get_name())

    # Tileable output and each backend choice (cuda falls back to the CPU
    # with a notice where there is no GPU).
    for name, extra in (("tileable", {"tileable": True}), ("backend-cpu", {"backend": "cpu"}),
                        ("backend-cuda", {"backend": "cuda"})):
        # The plug-in's notice goes to stderr in batch mode: the runner
        # looks for it between the marks.
        print("MARK begin " + name, flush=True)
        outcome = run("plug-in-fgsd-synthesize", image, [layer], width=32, height=32, **extra,
                      **FAST)
        sys.stderr.flush()
        print("MARK end " + name, flush=True)
        succeeded("py-" + name, outcome)

    # New image: the source image keeps its layers.
    n = len(image.get_layers())
    outcome = run("plug-in-fgsd-synthesize", image, [layer], width=40, height=40,
                  output="new-image", **FAST)
    if succeeded("py-new-image", outcome):
        other = outcome[1].get_image()
        check("py-new-image-is-new", other.get_id() != image.get_id())
        check("py-new-image-source-layers", len(image.get_layers()) == n)
        check("py-new-image-size", (other.get_width(), other.get_height()) == (40, 40))
        other.delete()
    image.delete()


def test_formats():
    """Grey, 16-bit, 32-bit linear float and RGBA images all run; the source
    never changes and the result has the image's precision."""
    cases = {
        "gray": lambda im: im.convert_grayscale(),
        "u16": lambda im: im.convert_precision(Gimp.Precision.U16_NON_LINEAR),
        "float-linear": lambda im: im.convert_precision(Gimp.Precision.FLOAT_LINEAR),
        "float-perceptual": lambda im: im.convert_precision(Gimp.Precision.FLOAT_NON_LINEAR),
        "gray-u16": lambda im: (im.convert_grayscale(),
                                im.convert_precision(Gimp.Precision.U16_NON_LINEAR)),
        "rgba": lambda im: im.get_layers()[0].add_alpha(),
    }
    for name, convert in cases.items():
        image = load("forest-floor.png")
        convert(image)
        layer = image.get_layers()[0]
        before = pixels(layer)
        image.select_rectangle(Gimp.ChannelOps.REPLACE, 16, 16, 96, 96)
        outcome = run("plug-in-fgsd-synthesize", image, [layer], width=32, height=32, **FAST)
        if succeeded("py-format-" + name, outcome):
            check("py-format-%s-precision" % name,
                  outcome[1].get_image().get_precision() == image.get_precision())
            check("py-format-%s-source-unchanged" % name, pixels(layer) == before)
        image.delete()


def test_denoise():
    # Reference on another layer (a clean copy below the noisy one).
    image = load("forest-floor-noisy.png")
    noisy = image.get_layers()[0]
    clean = add_layer_from(image, "forest-floor.png", 1)
    before = pixels(noisy)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 16, 16, 96, 96)
    outcome = run("plug-in-fgsd-denoise", image, [noisy], reference_layer=clean, **FAST)
    if succeeded("py-denoise", outcome):
        result = outcome[1]
        check("py-denoise-layers", len(image.get_layers()) == 3)
        check("py-denoise-size", (result.get_width(), result.get_height()) == (192, 192))
        check("py-denoise-above-noisy",
              image.get_item_position(result) == image.get_item_position(noisy) - 1)
        check("py-denoise-source-unchanged", pixels(noisy) == before)
        export(result, "py-denoise.png")
    image.delete()

    # Reference in a clean part of the noisy layer itself (its left 48
    # columns), through the sampler ("iterate") instead of one pass.
    image = load("forest-floor-noisy.png")
    noisy = image.get_layers()[0]
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 0, 0, 48, 192)
    first = run("plug-in-fgsd-denoise", image, [noisy], noise_level=0.1, **FAST)
    if succeeded("py-denoise-same-layer", first):
        check("py-denoise-same-layer-name", "(noise 0.100)" in first[1].get_name(),
              first[1].get_name())
        iterated = run("plug-in-fgsd-denoise", image, [noisy], noise_level=0.1, iterate=True,
                       **FAST)
        if succeeded("py-denoise-iterate", iterated):
            check("py-denoise-iterate-differs", pixels(iterated[1]) != pixels(first[1]))
    image.delete()


def test_interpolate():
    image = load("forest-floor.png")
    a = image.get_layers()[0]
    b = add_layer_from(image, "bricks.png", 1)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 16, 16, 96, 96)
    first = run("plug-in-fgsd-interpolate", image, [a, b], width=64, height=64, weight=0.5,
                seed=5, **FAST)
    if not succeeded("py-interpolate", first):
        return
    check("py-interpolate-layers", len(image.get_layers()) == 3)
    check("py-interpolate-above-a", image.get_item_position(first[1]) == 0)
    export(first[1], "py-interpolate.png")
    # The stack, not the argument order, says which layer is A: at an
    # amount of A of 0.8 a swap would give another texture.
    one = run("plug-in-fgsd-interpolate", image, [a, b], width=64, height=64, weight=0.8,
              seed=5, **FAST)
    second = run("plug-in-fgsd-interpolate", image, [b, a], width=64, height=64, weight=0.8,
                 seed=5, **FAST)
    if succeeded("py-interpolate-0.8", one) and succeeded("py-interpolate-swapped", second):
        same_layer("py-interpolate-order-free", one[1], second[1])
    image.delete()


def test_guidance():
    """Guidance 1.25 changes the texture; without a guide model the plug-in
    takes the default one (here FGSD_GUIDE_MODEL, as GIMP's environment
    names it) and gives the same layer; a missing guide model fails and
    leaves the image alone; interpolation takes guidance too."""
    if not GUIDE:
        check("py-guidance-model", False, "FGSD_TEST_GUIDE_MODEL is not set")
        return
    image = load("forest-floor.png")
    layer = image.get_layers()[0]
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 16, 16, 96, 96)
    common = dict(width=48, height=48, seed=77, **FAST)
    plain = run("plug-in-fgsd-synthesize", image, [layer], **common)
    guided = run("plug-in-fgsd-synthesize", image, [layer], guidance=1.25, guide_model=GUIDE,
                 **common)
    default = run("plug-in-fgsd-synthesize", image, [layer], guidance=1.25, **common)
    if succeeded("py-guidance-plain", plain) and succeeded("py-guidance", guided):
        check("py-guidance-changes", pixels(guided[1]) != pixels(plain[1]))
        if succeeded("py-guidance-default-model", default):
            same_layer("py-guidance-default-model-same", default[1], guided[1])
    n = len(image.get_layers())
    missing = run("plug-in-fgsd-synthesize", image, [layer], guidance=1.25,
                  guide_model=os.path.join(OUT, "no-such-guide.fgsd"), **common)
    check("py-guidance-missing-model-fails", missing[0] != Gimp.PDBStatusType.SUCCESS,
          str(missing[0]))
    check("py-guidance-missing-model-message", "guide model" in str(missing[1]),
          str(missing[1]))
    check("py-guidance-missing-model-layers", len(image.get_layers()) == n)
    b = add_layer_from(image, "bricks.png", 1)
    mixed = run("plug-in-fgsd-interpolate", image, [layer, b], width=48, height=48, seed=5,
                guidance=1.25, guide_model=GUIDE, **FAST)
    succeeded("py-guidance-interpolate", mixed)
    image.delete()


def region(drawable, x, y, w, h):
    """A rectangle of the drawable's pixels (drawable coordinates), 16-bit RGBA."""
    return drawable.get_buffer().get(Gegl.Rectangle.new(x, y, w, h), 1.0, "R'G'B'A u16",
                                     Gegl.AbyssPolicy.NONE)


def test_heal():
    """The selection is filled in a new layer above: the layer covers the
    hole, equals the source outside the selection, differs inside, and the
    source is unchanged; a reference layer works too; no selection fails."""
    image = load("bricks.png")
    layer = image.get_layers()[0]
    before = pixels(layer)
    hole = (72, 64, 48, 40)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, *hole)
    outcome = run("plug-in-fgsd-heal", image, [layer], band_width=24, seed=3, **FAST)
    if succeeded("py-heal", outcome):
        result = outcome[1]
        _, ox, oy = result.get_offsets()
        w, h = result.get_width(), result.get_height()
        check("py-heal-layers", len(image.get_layers()) == 2)
        check("py-heal-above", image.get_item_position(result) == 0)
        check("py-heal-covers-hole", ox <= hole[0] and oy <= hole[1] and
              ox + w >= hole[0] + hole[2] and oy + h >= hole[1] + hole[3],
              "%dx%d at %d,%d" % (w, h, ox, oy))
        check("py-heal-name", result.get_name() == layer.get_name() + " healed (seed 3)",
              result.get_name())
        # Outside the hole the patch is the source; inside it is drawn.
        top = oy, hole[1] - oy
        check("py-heal-keeps-outside",
              region(result, 0, 0, w, top[1]) == region(layer, ox, oy, w, top[1]))
        check("py-heal-fills-hole",
              region(result, hole[0] - ox, hole[1] - oy, hole[2], hole[3]) !=
              region(layer, *hole))
        check("py-heal-source-unchanged", pixels(layer) == before)
        export(result, "py-heal.png")
    # A blemish removed with Edit > Clear leaves a transparent hole: the
    # fill must be opaque there (it was copied transparent, so invisible).
    layer.add_alpha()
    image.select_rectangle(Gimp.ChannelOps.REPLACE, *hole)
    layer.edit_clear()
    outcome = run("plug-in-fgsd-heal", image, [layer], band_width=24, seed=3, **FAST)
    if succeeded("py-heal-cleared", outcome):
        result = outcome[1]
        _, ox, oy = result.get_offsets()
        inside = region(result, hole[0] - ox, hole[1] - oy, hole[2], hole[3])
        alpha = struct.unpack("<%dH" % (len(inside) // 2), inside)[3::4]
        check("py-heal-cleared-opaque", min(alpha) == 65535, "min alpha %d" % min(alpha))
        result.get_image().remove_layer(result)
    other = add_layer_from(image, "forest-floor.png", len(image.get_layers()))
    outcome = run("plug-in-fgsd-heal", image, [layer], reference_layer=other, seed=4, **FAST)
    succeeded("py-heal-reference-layer", outcome)
    Gimp.Selection.none(image)
    expect_error("py-heal-no-selection", image, layer, "no selection", "plug-in-fgsd-heal",
                 [layer], max_steps=2)
    image.delete()
    # A lattice is cloned from where it repeats, beyond the band (the
    # plug-in reads that far around the selection): the hole comes back
    # as it was, and the new layer still covers only the selection's
    # surroundings.
    image = load("lattice.png")
    layer = image.get_layers()[0]
    hole = (180, 130, 40, 40)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, *hole)
    outcome = run("plug-in-fgsd-heal", image, [layer], band_width=24, seed=3, **FAST)
    if succeeded("py-heal-lattice", outcome):
        result = outcome[1]
        _, ox, oy = result.get_offsets()
        check("py-heal-lattice-continued",
              region(result, hole[0] - ox, hole[1] - oy, hole[2], hole[3]) ==
              region(layer, *hole))
        check("py-heal-lattice-extent", result.get_width() < 400 and result.get_height() < 300,
              "%dx%d" % (result.get_width(), result.get_height()))
    image.delete()


def test_restyle():
    image = load("forest-floor.png")
    layer = image.get_layers()[0]
    ref = add_layer_from(image, "bricks.png", 1)
    before = pixels(layer)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 16, 16, 96, 96)
    outcome = run("plug-in-fgsd-restyle", image, [layer], reference_layer=ref, strength=0.3,
                  seed=8, start="noise", **FAST)
    if succeeded("py-restyle", outcome):
        result = outcome[1]
        check("py-restyle-layers", len(image.get_layers()) == 3)
        check("py-restyle-size", (result.get_width(), result.get_height()) ==
              (layer.get_width(), layer.get_height()))
        check("py-restyle-above", image.get_item_position(result) ==
              image.get_item_position(layer) - 1)
        check("py-restyle-name", result.get_name() ==
              layer.get_name() + " restyled (strength 0.30, seed 8)", result.get_name())
        check("py-restyle-changed", pixels(result) != before)
        check("py-restyle-source-unchanged", pixels(layer) == before)
        export(result, "py-restyle.png")
    # The default start: patches of the selection (texture transfer).  The
    # runner runs fgsd restyle on the same layer, reference crop and mask,
    # same seed, and compares (check_restyle_patches).
    export_reference(image, ref, "py-restyle-patches")
    outcome = run("plug-in-fgsd-restyle", image, [layer], reference_layer=ref, seed=8)
    if succeeded("py-restyle-patches", outcome):
        result = outcome[1]
        check("py-restyle-patches-name", result.get_name() ==
              layer.get_name() + " restyled from patches (strength 0.10, seed 8)",
              result.get_name())
        check("py-restyle-patches-source-unchanged", pixels(layer) == before)
        export(result, "py-restyle-patches.png")
    image.delete()


def test_blend():
    """Three layers with weights, top down; a weight count that does not
    match the layers, or weights adding up to 0, are refused."""
    image = load("forest-floor.png")
    a = image.get_layers()[0]
    add_layer_from(image, "bricks.png", 1)
    add_layer_from(image, "rock.png", 2)
    layers = image.get_layers()
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 16, 16, 96, 96)
    outcome = run("plug-in-fgsd-interpolate", image, layers, width=48, height=48,
                  weights="1, 1, 2", seed=6, **FAST)
    if succeeded("py-blend-3", outcome):
        check("py-blend-3-name", outcome[1].get_name() == "Blend of 3 textures (seed 6)",
              outcome[1].get_name())
        check("py-blend-3-on-top", image.get_item_position(outcome[1]) == 0)
    # Two layers: "weights" 3, 1 is "weight" 0.75.
    two = run("plug-in-fgsd-interpolate", image, layers[:2], width=48, height=48,
              weights="3 1", seed=6, **FAST)
    one = run("plug-in-fgsd-interpolate", image, layers[:2], width=48, height=48,
              weight=0.75, seed=6, **FAST)
    if succeeded("py-blend-weights-2", two) and succeeded("py-blend-weight-2", one):
        same_layer("py-blend-weights-equal-weight", two[1], one[1])
    for name, weights, part in (("count", "1, 2", "2 numbers but 3 layers"),
                                ("zero", "0 0 0", "add up to 0"),
                                ("negative", "1 -1 1", "not a number of 0 or more"),
                                ("missing", "", "one weight per layer"),
                                ("huge", "1e39,1,1", "out of range"),
                                ("huge-all", "1e308,1e308,1e308", "out of range"),
                                ("tiny", "1e-50,0,0", "out of range"),
                                ("hex", "0x10,1,1", "not a number of 0 or more")):
        expect_error("py-blend-" + name, image, a, part, "plug-in-fgsd-interpolate", layers,
                     width=32, height=32, weights=weights, max_steps=2)
    image.delete()


def png_write(path, w, h, channels, data):
    """8-bit grey (1) or RGB (3) PNG of raw rows."""
    stride = w * channels
    raw = b"".join(b"\0" + data[y * stride:(y + 1) * stride] for y in range(h))

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8,
                                                                      {1: 0, 3: 2}[channels],
                                                                      0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def export_reference(image, layer, name):
    """What the plug-in reads as the reference, for the engine run by the
    runner: the layer inside the selection's bounds (NAME-ref.png) and the
    selection's values there (NAME-mask.png)."""
    _, x, y, w, h = layer.mask_intersect()
    rect = Gegl.Rectangle.new(x, y, w, h)
    rgb = layer.get_buffer().get(rect, 1.0, "R'G'B' u8", Gegl.AbyssPolicy.NONE)
    mask = image.get_selection().get_buffer().get(rect, 1.0, "Y u8", Gegl.AbyssPolicy.NONE)
    png_write(os.path.join(OUT, name + "-ref.png"), w, h, 3, bytes(rgb))
    png_write(os.path.join(OUT, name + "-mask.png"), w, h, 1, bytes(mask))
    return sum(mask) / 255.0


def test_selections():
    """Non-rectangular and feathered selections: the reference is weighted by
    the selection's own values, and the patch start takes its squares from
    inside the selection.  The runner runs the engine (fgsd synth
    --mask) on the exported reference and mask with the same settings and
    compares; here: each runs and differs from the plain rectangle."""
    image = load("forest-floor.png")
    layer = image.get_layers()[0]
    before = pixels(layer)
    settings = {"width": 32, "height": 32, "seed": 77, "step_size": 0.3, "beta": 0.3,
                "final_noise": 0.05, "max_steps": STEPS, "start": "patches", "redraw": 0.3}
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 16, 16, 96, 96)
    rect = run("plug-in-fgsd-synthesize", image, [layer], **settings)
    if not succeeded("py-selection-rectangle", rect):
        return
    shapes = {
        "ellipse": lambda: image.select_ellipse(Gimp.ChannelOps.REPLACE, 8, 8, 112, 112),
        "feathered": lambda: (image.select_rectangle(Gimp.ChannelOps.REPLACE, 16, 16, 96, 96),
                              Gimp.Selection.feather(image, 40.0)),
    }
    for name, select in shapes.items():
        select()
        weight = export_reference(image, layer, "py-selection-" + name)
        outcome = run("plug-in-fgsd-synthesize", image, [layer], **settings)
        if not succeeded("py-selection-" + name, outcome):
            continue
        check("py-selection-%s-differs-from-rectangle" % name,
              pixels(outcome[1]) != pixels(rect[1]), "selected weight %.0f" % weight)
        export(outcome[1], "py-selection-%s.png" % name)
    check("py-selection-source-unchanged", pixels(layer) == before)
    with open(os.path.join(OUT, "py-selection.json"), "w") as f:
        json.dump({"size": [32, 32], "seed": 77, "h": 0.3, "beta": 0.3, "start": "patches",
                   "strength": 0.3, "sigma_final": 0.05, "max_steps": STEPS}, f)
    image.delete()


def test_bad_numbers():
    """NaN and out-of-range numbers, and the huge canvas."""
    image = load("forest-floor.png")
    layer = image.get_layers()[0]
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 16, 16, 96, 96)
    # GLib's double validation clamps NaN, sees the value change and refuses
    # it: set_property warns and keeps the previous value, so NaN (and any
    # out-of-range number) never reaches GIMP or the plug-in from Python.
    # Script-Fu cannot write NaN; its out-of-range call: fgsd_tests.scm.
    for procedure, keys in (("plug-in-fgsd-synthesize",
                             ("step-size", "beta", "noise-level", "final-noise")),
                            ("plug-in-fgsd-interpolate", ("weight",)),
                            ("plug-in-fgsd-denoise", ("noise-level",))):
        config = PDB.lookup_procedure(procedure).create_config()
        for key in keys:
            default = config.get_property(key)
            for bad in (float("nan"), float("inf"), 7.0):
                config.set_property(key, bad)
                value = config.get_property(key)
                check("py-refused-%s-%s-%s" % (procedure[15:], key, bad),
                      value == default and not math.isnan(value), "%r -> %r" % (bad, value))
    # 32768 x 32768 is inside the arguments' range; the runner starts GIMP
    # under a 16 GiB address-space limit, which it needs several times.
    start = time.time()
    expect_error("py-huge-canvas", image, layer, "Refused", "plug-in-fgsd-synthesize", [layer],
                 width=32768, height=32768, max_steps=1)
    check("py-huge-canvas-at-once", time.time() - start < 60, "%.0f s" % (time.time() - start))
    # Beyond the range GObject itself refuses the value (with a warning): a
    # Python caller cannot pass 40000 at all (Script-Fu's call is checked by
    # GIMP: fgsd_tests.scm).
    proc = PDB.lookup_procedure("plug-in-fgsd-synthesize")
    config = proc.create_config()
    config.set_property("width", 40000)
    check("py-width-40000-not-set", config.get_property("width") != 40000,
          str(config.get_property("width")))
    image.delete()


KILLER = """
import os, signal, sys, time
plugin, parent, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
end = time.time() + 120
while time.time() < end:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            exe = os.path.realpath("/proc/%s/exe" % pid)
            ppid = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()[1]
        except OSError:
            continue
        if exe == plugin and ppid == parent:
            time.sleep(delay)
            os.kill(int(pid), signal.SIGKILL)
            print(pid)
            sys.exit(0)
    time.sleep(0.01)
sys.exit(1)
"""


def test_killed():
    """GIMP cancels a plug-in by killing it (docs/gimp-plugin.md section 6);
    batch mode has no Cancel button, so the plug-in is killed the same way
    (SIGKILL) at several points of a run that would not end by itself: as it
    starts, a second in (model, reference, first steps), and well into the
    sampling.  The call fails, and the image has no new layer, the same
    pixels, and no undo step (not dirty)."""
    if not PLUGIN:
        check("py-kill-plugin-path", False, "FGSD_TEST_PLUGIN not set")
        return
    image = load("forest-floor.png")
    layer = image.get_layers()[0]
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 16, 16, 96, 96)
    image.clean_all()
    n = len(image.get_layers())
    before = pixels(layer)
    for name, delay in (("start", 0.0), ("early", 1.0), ("sampling", 5.0)):
        killer = subprocess.Popen([sys.executable, "-c", KILLER, PLUGIN, str(os.getppid()),
                                   str(delay)], stdout=subprocess.PIPE, text=True)
        status, message, _ = run("plug-in-fgsd-synthesize", image, [layer], width=256,
                                 height=256, max_steps=100000, final_noise=0.001,
                                 step_size=0.005, beta=0.005, start="noise")
        killed = killer.communicate(timeout=180)[0].strip()
        tag = "py-kill-" + name
        check(tag + "-killed", killer.returncode == 0 and killed != "", killed)
        check(tag + "-fails", status != Gimp.PDBStatusType.SUCCESS,
              "%s: %s" % (status, message))
        check(tag + "-layers", len(image.get_layers()) == n, str(len(image.get_layers())))
        check(tag + "-pixels", pixels(layer) == before)
        check(tag + "-not-dirty", not image.is_dirty())
    # The next call starts a fresh plug-in and works.
    outcome = run("plug-in-fgsd-synthesize", image, [layer], width=32, height=32, **FAST)
    succeeded("py-kill-then-runs", outcome)
    image.delete()


def expect_error(name, image, layer, part, procedure, drawables, **args):
    n = len(image.get_layers())
    before = pixels(layer)
    status, message, _ = run(procedure, image, drawables, **args)
    check(name + "-fails", status != Gimp.PDBStatusType.SUCCESS, str(status))
    check(name + "-message", part in (message or ""), "want %r in %r" % (part, message))
    check(name + "-layers", len(image.get_layers()) == n)
    check(name + "-pixels", pixels(layer) == before)


def test_errors():
    synth = "plug-in-fgsd-synthesize"
    image = load("forest-floor.png")
    layer = image.get_layers()[0]
    small = {"width": 32, "height": 32, "max_steps": 2}
    expect_error("py-no-selection", image, layer, "no selection", synth, [layer], **small)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 16, 16, 20, 20)
    expect_error("py-tiny-selection", image, layer, "too small", synth, [layer], **small)
    image.select_ellipse(Gimp.ChannelOps.REPLACE, 16, 16, 34, 34)
    expect_error("py-few-pixels", image, layer, "selected pixels", synth, [layer], **small)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 16, 16, 96, 96)
    expect_error("py-missing-model", image, layer, "missing", synth, [layer],
                 model=os.path.join(OUT, "no-such.fgsd"), **small)
    expect_error("py-corrupt-model", image, layer, "corrupt", synth, [layer],
                 model=os.path.join(OUT, "corrupt.fgsd"), **small)
    for name, part in (("wrong-version", "format version"), ("truncated", "corrupt"),
                       ("bad-checksum", "checksum")):
        expect_error("py-%s-model" % name, image, layer, part, synth, [layer],
                     model=os.path.join(OUT, name + ".fgsd"), **small)
    expect_error("py-one-layer-interpolate", image, layer, "two layers",
                 "plug-in-fgsd-interpolate", [layer], **small)
    image.convert_indexed(Gimp.ConvertDitherType.NONE, Gimp.ConvertPaletteType.GENERATE, 16,
                          False, False, "")
    expect_error("py-indexed", image, layer, "Indexed", synth, [layer], **small)
    for procedure in ("plug-in-fgsd-denoise",):
        expect_error("py-indexed-denoise", image, layer, "Indexed", procedure, [layer],
                     max_steps=2)
    image.delete()


for test in (test_synthesize, test_formats, test_denoise, test_interpolate, test_heal,
             test_restyle, test_blend, test_guidance, test_errors, test_selections,
             test_bad_numbers, test_killed):
    try:
        test()
    except Exception as e:  # a crash of one test must not hide the others
        check(test.__name__ + "-exception", False, repr(e))
check("done", True, "python")
