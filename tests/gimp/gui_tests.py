# SPDX-License-Identifier: GPL-3.0-or-later
#
# GUI half of the GIMP plug-in tests: run_gimp_tests.py runs it in gimp-3.0
# under Xvfb (python-fu-eval, exec of this file).  xhelper (XTest) plays the
# user: Ctrl+Z in the image window, a click on the status bar's Cancel
# button, screenshots.  There is no window manager, so keys go to the window
# under the pointer.  Environment: FGSD_TEST_DATA, FGSD_TEST_OUT,
# FGSD_TEST_MODEL, FGSD_TEST_XHELPER, FGSD_TEST_SHOTS (non-empty: only take
# the dialog screenshots into that folder).
import json
import os
import subprocess
import time

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gegl, Gimp, Gio  # noqa: E402

DATA = os.environ["FGSD_TEST_DATA"]
MODEL = os.environ["FGSD_TEST_MODEL"]
XHELPER = os.environ["FGSD_TEST_XHELPER"]
SHOTS = os.environ.get("FGSD_TEST_SHOTS", "")
PDB = Gimp.get_pdb()
IMAGE_WINDOW = "– GIMP"  # the image window's title ends so
# The Cancel button of the progress in the status bar, from the bottom-right
# corner of GIMP's default 800x600 single window.
CANCEL_FROM_CORNER = (-262, -18)


def check(name, ok, detail=""):
    print("CHECK %s %s %s" % ("ok" if ok else "FAIL", name, detail), flush=True)
    return ok


def xhelper(*args):
    return subprocess.run([XHELPER] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def load(name):
    return Gimp.file_load(Gimp.RunMode.NONINTERACTIVE,
                          Gio.File.new_for_path(os.path.join(DATA, name)))


def pixels(drawable):
    buf = drawable.get_buffer()
    return buf.get(buf.get_extent(), 1.0, "R'G'B'A u8", Gegl.AbyssPolicy.NONE)


def config(procedure, image, drawables, run_mode=Gimp.RunMode.NONINTERACTIVE, **args):
    proc = PDB.lookup_procedure(procedure)
    cfg = proc.create_config()
    cfg.set_property("run-mode", run_mode)
    cfg.set_property("image", image)
    cfg.set_core_object_array("drawables", drawables)
    args.setdefault("model", MODEL)
    for key, value in args.items():
        if key == "model":
            value = Gio.File.new_for_path(value) if value else None
        cfg.set_property(key.replace("_", "-"), value)
    return proc, cfg


def settle(seconds=1.0):
    Gimp.displays_flush()
    time.sleep(seconds)


def undo_one(name, image, watched, procedure, drawables, **args):
    """Runs procedure, then one Ctrl+Z must remove its result and nothing
    else (the selection, made earlier, is still there)."""
    n = len(image.get_layers())
    before = [pixels(layer) for layer in watched]
    proc, cfg = config(procedure, image, drawables, max_steps=3, **args)
    result = proc.run(cfg)
    if not check(name + "-runs", result.index(0) == Gimp.PDBStatusType.SUCCESS,
                 str(result.index(0))):
        return
    check(name + "-adds-layer", len(image.get_layers()) == n + 1)
    settle()
    key = xhelper("key", IMAGE_WINDOW, "ctrl+z")
    settle()
    check(name + "-undo-removes-result", len(image.get_layers()) == n,
          "%d layers, want %d %s" % (len(image.get_layers()), n, key.stdout))
    check(name + "-undo-keeps-pixels", [pixels(layer) for layer in watched] == before)
    check(name + "-undo-keeps-selection", not Gimp.Selection.is_empty(image))


def test_undo():
    image = load("forest-floor.png")
    layer = image.get_layers()[0]
    Gimp.Display.new(image)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 16, 16, 96, 96)
    undo_one("gui-synthesize", image, [layer], "plug-in-fgsd-synthesize", [layer],
             width=64, height=64)
    undo_one("gui-denoise", image, [layer], "plug-in-fgsd-denoise", [layer])
    other = Gimp.file_load_layer(Gimp.RunMode.NONINTERACTIVE, image,
                                 Gio.File.new_for_path(os.path.join(DATA, "bricks.png")))
    image.insert_layer(other, None, 1)
    undo_one("gui-interpolate", image, [layer, other], "plug-in-fgsd-interpolate",
             [layer, other], width=64, height=64)
    image.clean_all()
    return image


def test_cancel(image):
    """A long run cancelled from the progress bar: GIMP kills the plug-in,
    the call returns CANCEL and the image is as it was (no layer, no undo
    step: one more Ctrl+Z would otherwise be needed)."""
    layer = image.get_layers()[0]
    n = len(image.get_layers())
    before = pixels(layer)
    proc, cfg = config("plug-in-fgsd-synthesize", image, [layer], width=512, height=512,
                       max_steps=100000, final_noise=0.001, step_size=0.005, beta=0.005,
                       start="noise")
    clicker = subprocess.Popen(["sh", "-c", "sleep 6; '%s' click '%s' %d %d"
                                % (XHELPER, IMAGE_WINDOW, CANCEL_FROM_CORNER[0],
                                   CANCEL_FROM_CORNER[1])])
    start = time.time()
    result = proc.run(cfg)
    clicker.wait()
    check("gui-cancel-status", result.index(0) == Gimp.PDBStatusType.CANCEL,
          "%s after %.0f s" % (result.index(0), time.time() - start))
    check("gui-cancel-layers", len(image.get_layers()) == n)
    check("gui-cancel-pixels", pixels(layer) == before)
    check("gui-cancel-not-dirty", not image.is_dirty())


def test_preview(image):
    """The synthesize dialog's preview (issue 22): drawn at the dialog's
    settings, drawn again after New Seed (Alt+N) with the new seed, its
    thread ended when OK (Alt+O) closes the dialog; OK's layer is what the
    engine draws for the same settings (the runner runs fgsd synth on the
    exported reference and compares: check_preview).  The preview's thread
    writes its events to $FGSD_PREVIEW_LOG."""
    log = os.environ["FGSD_PREVIEW_LOG"]
    layer = image.get_layers()[0]
    n = len(image.get_layers())
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 16, 16, 96, 96)
    proc, cfg = config("plug-in-fgsd-synthesize", image, [layer],
                       run_mode=Gimp.RunMode.INTERACTIVE, width=96, height=80, seed=5,
                       random_seed=False, start="patches", redraw=0.0)
    title = "Texture from Selection"
    shot = os.path.join(os.environ["FGSD_TEST_OUT"], "gui-preview.png")
    script = ("'{x}' wait '{t}' 60 >/dev/null && sleep 3 && '{x}' shot '{t}' '{p}'; "
              "'{x}' key '{t}' alt+n && sleep 3 && '{x}' key '{t}' alt+o"
              ).format(x=XHELPER, t=title, p=shot)
    player = subprocess.Popen(["sh", "-c", script])
    result = proc.run(cfg)
    player.wait()
    if not check("gui-preview-ok", result.index(0) == Gimp.PDBStatusType.SUCCESS,
                 str(result.index(0))):
        return
    check("gui-preview-layer", len(image.get_layers()) == n + 1)
    seed = result.index(2)
    lines = open(log).read().splitlines() if os.path.exists(log) else []
    starts = [ln.split() for ln in lines if ln.startswith("start ")]
    done = {ln.split()[1] for ln in lines if ln.startswith("done ")}
    check("gui-preview-drawn", bool(starts) and starts[0][3] == "5" and starts[0][1] in done,
          repr(lines[:6]))
    check("gui-preview-new-seed", any(s[3] == str(seed) and s[3] != "5" and s[1] in done
                                      for s in starts), "seed %s: %r" % (seed, lines))
    check("gui-preview-stopped", bool(lines) and lines[-1] == "closed", repr(lines[-3:]))
    check("gui-preview-shot", os.path.exists(shot))
    out = os.environ["FGSD_TEST_OUT"]
    with open(os.path.join(out, "gui-preview.rgba"), "wb") as f:
        f.write(bytes(pixels(result.index(1))))
    with open(os.path.join(out, "gui-preview.json"), "w") as f:
        json.dump({"size": [96, 80], "seed": seed, "box": [16, 16, 96, 96],
                   "image": "forest-floor.png"}, f)
    image.remove_layer(result.index(1))
    image.clean_all()


def test_preview_dialogs(image):
    """Restyle, heal and denoise show a preview too (a crop of the layer), a
    guided interpolation (the sampler, from noise, with the guide model
    $FGSD_GUIDE_MODEL) shows the sampler's clean estimate as it goes
    (frame lines), and Cancel (Escape) leaves the image as it was with the
    preview's thread ended."""
    log = os.environ["FGSD_PREVIEW_LOG"]
    layer = image.get_layers()[0]
    for procedure, title, extra in (
            ("plug-in-fgsd-restyle", "Restyle with Texture", {}),
            ("plug-in-fgsd-heal", "Heal Selection with Texture", {"band_width": 16,
                                                                  "hole": (30, 30, 130, 130)}),
            ("plug-in-fgsd-denoise", "Denoise with Reference", {}),
            ("plug-in-fgsd-interpolate", "Texture Interpolation",
             {"width": 64, "height": 64, "max_steps": 12, "final_noise": 0.001,
              "guidance": 1.5})):
        # A dialog's first interactive run takes the arguments given here;
        # later ones GIMP's last values: each procedure is opened once.
        name = "gui-preview-" + procedure[13:]
        drawables = image.get_layers()[:2] if "interpolate" in procedure else [layer]
        extra = dict({"max_steps": 3}, **extra)
        # A hole and its band wider than the pane: previewed whole, shrunk.
        hole = extra.pop("hole", (40, 40, 48, 48))
        image.select_rectangle(Gimp.ChannelOps.REPLACE, *hole)
        image.clean_all()
        n, before = len(image.get_layers()), pixels(layer)
        seen = len(open(log).read().splitlines()) if os.path.exists(log) else 0
        proc, cfg = config(procedure, image, drawables, run_mode=Gimp.RunMode.INTERACTIVE,
                           seed=9, random_seed=False, **extra)
        # Escape once the preview is drawn (or failed), at most 120 s: a
        # guided sampler on a loaded machine takes longer than a fixed wait.
        done = "grep -c -E '^(done|failed) ' '%s' 2>/dev/null" % log
        script = ("n0=$({d}); '{x}' wait '{t}' 60 >/dev/null; i=0; "
                  "while [ \"$({d})\" = \"$n0\" ] && [ $i -lt 1200 ]; do sleep 0.1; "
                  "i=$((i+1)); done; '{x}' key '{t}' Escape").format(d=done, x=XHELPER, t=title)
        player = subprocess.Popen(["sh", "-c", script])
        result = proc.run(cfg)
        player.wait()
        lines = open(log).read().splitlines()[seen:] if os.path.exists(log) else []
        check(name + "-cancelled", result.index(0) == Gimp.PDBStatusType.CANCEL,
              str(result.index(0)))
        check(name + "-drawn", any(ln.startswith("done ") for ln in lines), repr(lines))
        check(name + "-stopped", bool(lines) and lines[-1] == "closed", repr(lines[-3:]))
        check(name + "-unchanged", len(image.get_layers()) == n and pixels(layer) == before)
        check(name + "-no-undo-step", not image.is_dirty())
        if "heal" in procedure:  # 130 + 2 x 16 = 162 px shrunk by 2
            check(name + "-shrunk", any(ln.startswith("done ") and ln.split()[2:4] == ["81", "81"]
                                        for ln in lines), repr(lines))
        if "interpolate" in procedure:  # the sampler, from noise, guided
            check(name + "-guided", any(ln.startswith("start ") and ln.endswith("guided 1")
                                        for ln in lines), repr(lines))
            check(name + "-forming", sum(ln.startswith("frame ") for ln in lines) >= 2,
                  repr(lines))
    image.clean_all()


def shoot(procedure, image, drawables, title, path):
    """Opens procedure's dialog, saves it as path, closes it with Escape."""
    proc, cfg = config(procedure, image, drawables, run_mode=Gimp.RunMode.INTERACTIVE,
                       model=None)
    script = ("'{x}' wait '{t}' 60 >/dev/null && sleep 2 && '{x}' shot '{t}' '{p}'; "
              "'{x}' key '{t}' Escape").format(x=XHELPER, t=title, p=path)
    shooter = subprocess.Popen(["sh", "-c", script])
    result = proc.run(cfg)
    shooter.wait()
    check("shot-" + os.path.basename(path), os.path.exists(path) and
          result.index(0) == Gimp.PDBStatusType.CANCEL, str(result.index(0)))


def screenshots():
    image = load("forest-floor.png")
    layer = image.get_layers()[0]
    layer.set_name("Forest floor")
    other = Gimp.file_load_layer(Gimp.RunMode.NONINTERACTIVE, image,
                                 Gio.File.new_for_path(os.path.join(DATA, "bricks.png")))
    other.set_name("Bricks")
    image.insert_layer(other, None, 1)
    Gimp.Display.new(image)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 16, 16, 96, 96)
    settle()
    shoot("plug-in-fgsd-synthesize", image, [layer], "Texture from Selection",
          os.path.join(SHOTS, "gimp-dialog-synthesize.png"))
    shoot("plug-in-fgsd-restyle", image, [layer], "Restyle with Texture",
          os.path.join(SHOTS, "gimp-preview-restyle.png"))
    shoot("plug-in-fgsd-denoise", image, [layer], "Denoise with Reference",
          os.path.join(SHOTS, "gimp-dialog-denoise.png"))
    shoot("plug-in-fgsd-interpolate", image, [layer, other], "Texture Interpolation",
          os.path.join(SHOTS, "gimp-dialog-interpolate.png"))


try:
    if SHOTS:
        screenshots()
    else:
        image = test_undo()
        test_preview(image)
        test_preview_dialogs(image)
        test_cancel(image)
except Exception as e:  # report, so that the runner sees a failure
    check("gui-exception", False, repr(e))
check("done", True, "gui")
