/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * xhelper: drives a GIMP running under Xvfb for the GUI tests (undo, cancel)
 * and the dialog screenshot.  There is no window manager under Xvfb, so
 * focus follows the pointer: keys go to the window the pointer is moved to.
 *
 *   xhelper wait  TITLE SECONDS     wait for a viewable window whose title
 *                                   contains TITLE; print its id
 *   xhelper shot  TITLE OUT.png     save that window's pixels as PNG
 *   xhelper key   TITLE KEYS...     focus it and type each KEYS, e.g.
 *                                   ctrl+z, Escape, Return, alt+c
 *   xhelper click TITLE X Y         click at (X, Y) in that window; negative
 *                                   values count from the right or bottom
 *   xhelper list                    print every viewable window's title
 *
 * Exit status: 0 done, 1 window not found or X error, 2 usage.
 */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XTest.h>

static char *window_title(Display *dpy, Window w)
{
    Atom net_wm_name = XInternAtom(dpy, "_NET_WM_NAME", False);
    Atom utf8 = XInternAtom(dpy, "UTF8_STRING", False);
    Atom type;
    int format;
    unsigned long n, after;
    unsigned char *data = NULL;
    char *name = NULL;

    if (XGetWindowProperty(dpy, w, net_wm_name, 0, 1024, False, utf8, &type, &format, &n, &after,
                           &data) == Success &&
        data) {
        name = strdup((char *)data);
        XFree(data);
        return name;
    }
    if (XFetchName(dpy, w, &name) && name) {
        char *copy = strdup(name);
        XFree(name);
        return copy;
    }
    return NULL;
}

static int viewable(Display *dpy, Window w)
{
    XWindowAttributes a;

    return XGetWindowAttributes(dpy, w, &a) && a.map_state == IsViewable;
}

/* Depth-first search for a viewable window whose title contains title
 * (NULL: print every titled viewable window). */
static Window find(Display *dpy, Window w, const char *title)
{
    Window root, parent, *children = NULL, found = 0;
    unsigned int n = 0;
    char *name = window_title(dpy, w);

    if (name && viewable(dpy, w)) {
        if (!title)
            printf("0x%lx %s\n", (unsigned long)w, name);
        else if (strstr(name, title))
            found = w;
    }
    free(name);
    if (found)
        return found;
    if (!XQueryTree(dpy, w, &root, &parent, &children, &n))
        return 0;
    for (unsigned int i = 0; i < n && !found; i++)
        found = find(dpy, children[i], title);
    if (children)
        XFree(children);
    return found;
}

static Window wait_for(Display *dpy, const char *title, double seconds)
{
    struct timespec nap = {0, 100 * 1000 * 1000};

    for (double t = 0; t <= seconds; t += 0.1) {
        Window w = find(dpy, DefaultRootWindow(dpy), title);
        if (w)
            return w;
        nanosleep(&nap, NULL);
    }
    fprintf(stderr, "xhelper: no window titled \"%s\" after %g s\n", title, seconds);
    return 0;
}

static int save_png(const char *path, XImage *img, int w, int h)
{
    FILE *fp = fopen(path, "wb");
    png_structp png;
    png_infop info;
    unsigned char *row;

    if (!fp) {
        perror(path);
        return 1;
    }
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    info = png ? png_create_info_struct(png) : NULL;
    row = malloc((size_t)w * 3);
    if (!png || !info || !row || setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "xhelper: cannot write %s\n", path);
        png_destroy_write_struct(&png, &info);
        free(row);
        fclose(fp);
        return 1;
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            unsigned long p = XGetPixel(img, x, y);
            row[x * 3 + 0] = (unsigned char)((p & img->red_mask) >> 16);
            row[x * 3 + 1] = (unsigned char)((p & img->green_mask) >> 8);
            row[x * 3 + 2] = (unsigned char)(p & img->blue_mask);
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
    return fclose(fp) == 0 ? 0 : 1;
}

static int shot(Display *dpy, Window w, const char *path)
{
    XWindowAttributes a;
    XImage *img;
    int ret;

    /* Pointer out of the way: no hover highlight, no tooltip over the window
     * (XGetImage reads what is on screen). */
    XTestFakeMotionEvent(dpy, -1, 0, 0, 0);
    XSync(dpy, False);
    sleep(1);
    XGetWindowAttributes(dpy, w, &a);
    img = XGetImage(dpy, w, 0, 0, (unsigned)a.width, (unsigned)a.height, AllPlanes, ZPixmap);
    if (!img) {
        fprintf(stderr, "xhelper: cannot read the window's pixels\n");
        return 1;
    }
    ret = save_png(path, img, a.width, a.height);
    XDestroyImage(img);
    return ret;
}

/* Presses "mod+mod+key" (modifiers ctrl, shift, alt) through XTest. */
static int type_keys(Display *dpy, const char *combo)
{
    char buf[128], *parts[8], *save = NULL;
    KeyCode codes[8];
    int n = 0;

    snprintf(buf, sizeof buf, "%s", combo);
    for (char *p = strtok_r(buf, "+", &save); p && n < 8; p = strtok_r(NULL, "+", &save))
        parts[n++] = p;
    for (int i = 0; i < n; i++) {
        const char *name = parts[i];
        KeySym sym;

        if (i < n - 1)
            name = !strcmp(name, "ctrl") ? "Control_L"
                   : !strcmp(name, "shift") ? "Shift_L"
                   : !strcmp(name, "alt") ? "Alt_L"
                                           : name;
        sym = XStringToKeysym(name);
        codes[i] = sym == NoSymbol ? 0 : XKeysymToKeycode(dpy, sym);
        if (!codes[i]) {
            fprintf(stderr, "xhelper: unknown key \"%s\"\n", parts[i]);
            return 1;
        }
    }
    for (int i = 0; i < n; i++)
        XTestFakeKeyEvent(dpy, codes[i], True, 0);
    for (int i = n - 1; i >= 0; i--)
        XTestFakeKeyEvent(dpy, codes[i], False, 0);
    XSync(dpy, False);
    return 0;
}

static int key(Display *dpy, Window w, char **keys, int n)
{
    XWindowAttributes a;
    Window child;
    int x, y;
    struct timespec nap = {0, 300 * 1000 * 1000};

    XGetWindowAttributes(dpy, w, &a);
    XTranslateCoordinates(dpy, w, DefaultRootWindow(dpy), a.width / 2, a.height / 2, &x, &y,
                          &child);
    XTestFakeMotionEvent(dpy, -1, x, y, 0);
    XSetInputFocus(dpy, w, RevertToPointerRoot, CurrentTime);
    XSync(dpy, False);
    nanosleep(&nap, NULL);
    for (int i = 0; i < n; i++) {
        if (type_keys(dpy, keys[i]))
            return 1;
        nanosleep(&nap, NULL);
    }
    return 0;
}

static int click(Display *dpy, Window w, int x, int y)
{
    XWindowAttributes a;
    Window child;
    int rx, ry;
    struct timespec nap = {0, 200 * 1000 * 1000};

    XGetWindowAttributes(dpy, w, &a);
    if (x < 0)
        x += a.width;
    if (y < 0)
        y += a.height;
    XTranslateCoordinates(dpy, w, DefaultRootWindow(dpy), x, y, &rx, &ry, &child);
    XTestFakeMotionEvent(dpy, -1, rx, ry, 0);
    XSync(dpy, False);
    nanosleep(&nap, NULL);
    XTestFakeButtonEvent(dpy, 1, True, 0);
    XTestFakeButtonEvent(dpy, 1, False, 0);
    XSync(dpy, False);
    return 0;
}

int main(int argc, char **argv)
{
    Display *dpy;
    Window w;
    int ret = 1;

    if (argc < 2) {
        fprintf(stderr, "usage: xhelper wait|shot|key|click|list ...\n");
        return 2;
    }
    dpy = XOpenDisplay(NULL);
    if (!dpy) {
        fprintf(stderr, "xhelper: cannot open display\n");
        return 1;
    }
    if (!strcmp(argv[1], "list")) {
        find(dpy, DefaultRootWindow(dpy), NULL);
        ret = 0;
    } else if (!strcmp(argv[1], "wait") && argc == 4) {
        w = wait_for(dpy, argv[2], atof(argv[3]));
        if (w) {
            printf("0x%lx\n", (unsigned long)w);
            ret = 0;
        }
    } else if (!strcmp(argv[1], "shot") && argc == 4) {
        w = wait_for(dpy, argv[2], 0);
        ret = w ? shot(dpy, w, argv[3]) : 1;
    } else if (!strcmp(argv[1], "key") && argc >= 4) {
        w = wait_for(dpy, argv[2], 0);
        ret = w ? key(dpy, w, argv + 3, argc - 3) : 1;
    } else if (!strcmp(argv[1], "click") && argc == 5) {
        w = wait_for(dpy, argv[2], 0);
        ret = w ? click(dpy, w, atoi(argv[3]), atoi(argv[4])) : 1;
    } else {
        fprintf(stderr, "usage: xhelper wait|shot|key|click|list ...\n");
        ret = 2;
    }
    XCloseDisplay(dpy);
    return ret;
}
