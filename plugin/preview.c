/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The dialogs' live preview (preview.h).
 *
 * Main thread: a setting changes -> the running request is cancelled
 * (generation bumped) and, PREVIEW_DELAY_MS later, a new request (the
 * settings, the resolved model path and the input read for them) goes to
 * the queue.  Preview thread: takes the newest request, opens the model
 * when it changed, renders; the engine's progress callback cancels when
 * the generation moved on, its watch posts the clean estimate to the main
 * thread (an idle callback that drops frames of an old generation or a
 * closed pane).  The pane's state is reference-counted: the thread and
 * pending idles hold it past the widget.  $FGSD_PREVIEW_LOG (tests) names
 * a file that gets one line per event.
 */
#include "plugin-config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "model-path.h"
#include "plugin.h"
#include "preview.h"

#define PREVIEW_DELAY_MS 250
/* The clean estimate shown every this many sampler steps. */
#define PREVIEW_WATCH_EVERY 4

typedef struct
{
  gint              generation;
  gboolean          quit;
  FgsdArgs          args;       /* numbers and weights only: no objects */
  guint32           seed;
  gchar            *model_path;
  gchar            *guide_path;  /* guidance's model, when guided */
  FgsdPreviewInput *in;
} Request;

typedef struct
{
  /* main thread */
  GimpProcedureConfig *config;
  FgsdPreviewRead      read;
  gpointer             read_data;
  GtkWidget           *area;
  GtkWidget           *toggle;
  GtkWidget           *label;
  gboolean             closed;
  guint                delay_id;
  gulong               notify_id;
  GThread             *thread;
  /* shared */
  gint                 generation; /* atomic */
  GAsyncQueue         *queue;
  FgsdPreviewRender    render;
  gchar               *log_path;
  /* preview thread */
  gchar               *model_path;
  fgsd_model          *model;
  fgsd_session        *session;
  gint                 backend;
  gchar               *guide_path;
  fgsd_model          *guide_model;
  fgsd_session        *guide;
  gint                 job;        /* the generation being rendered */
  gint64               job_start;
} Preview;

typedef struct
{
  Preview *p;
  gint     generation;
  guchar  *rgb;       /* NULL: text only */
  gint     w, h;
  gchar   *text;
} Frame;

static void
preview_log (Preview *p, const gchar *format, ...) G_GNUC_PRINTF (2, 3);

static void
preview_log (Preview *p, const gchar *format, ...)
{
  va_list args;
  FILE   *f;

  if (! p->log_path || ! (f = fopen (p->log_path, "a")))
    return;
  va_start (args, format);
  vfprintf (f, format, args);
  va_end (args);
  fputc ('\n', f);
  fclose (f);
}

void
preview_input_free (FgsdPreviewInput *in)
{
  if (! in)
    return;
  for (gint i = 0; i < in->n_refs; i++)
    reference_clear (&in->refs[i]);
  g_free (in->refs);
  g_free (in->weights);
  g_free (in->image);
  g_free (in->hole);
  g_free (in);
}

gboolean
preview_engine_failed (fgsd_session *session, fgsd_status status, GError **error)
{
  const gchar *msg = session ? fgsd_session_last_error (session) : NULL;

  g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_ENGINE, "%s",
               msg && *msg ? msg : fgsd_status_string (status));
  return FALSE;
}

static void
request_free (Request *r)
{
  g_free (r->args.weights);
  g_free (r->model_path);
  g_free (r->guide_path);
  preview_input_free (r->in);
  g_free (r);
}

static void
preview_free (Preview *p)
{
  g_async_queue_unref (p->queue);
  g_free (p->log_path);
}

/* ---- main thread ---------------------------------------------------------- */

static gboolean
show_frame (gpointer data)
{
  Frame   *f = data;
  Preview *p = f->p;

  if (! p->closed && f->generation == g_atomic_int_get (&p->generation))
    {
      /* A message without a picture is a failure: no old picture under it. */
      gimp_preview_area_fill (GIMP_PREVIEW_AREA (p->area), 0, 0, PREVIEW_SIDE, PREVIEW_SIDE,
                              0x80, 0x80, 0x80);
      if (f->rgb)
        {
          gimp_preview_area_draw (GIMP_PREVIEW_AREA (p->area), (PREVIEW_SIDE - f->w) / 2,
                                  (PREVIEW_SIDE - f->h) / 2, f->w, f->h, GIMP_RGB_IMAGE,
                                  f->rgb, f->w * 3);
        }
      if (f->text)
        gtk_label_set_text (GTK_LABEL (p->label), f->text);
    }
  g_free (f->rgb);
  g_free (f->text);
  g_atomic_rc_box_release_full (p, (GDestroyNotify) preview_free);
  g_free (f);
  return G_SOURCE_REMOVE;
}

static void
post (Preview *p, gint generation, const gfloat *rgb, gint w, gint h, gchar *text)
{
  Frame *f = g_new0 (Frame, 1);

  f->p          = g_atomic_rc_box_acquire (p);
  f->generation = generation;
  f->text       = text;
  if (rgb)
    {
      gsize n = (gsize) w * (gsize) h * 3;

      f->rgb = g_malloc (n);
      f->w   = w;
      f->h   = h;
      for (gsize i = 0; i < n; i++) /* a diverging step may hold NaN */
        f->rgb[i] = isfinite (rgb[i]) ? (guchar) (CLAMP (rgb[i], 0.0f, 1.0f) * 255.0f + 0.5f)
                                      : 0;
    }
  g_idle_add (show_frame, f);
}

/* Cancels what runs and what waits. */
static void
cancel (Preview *p)
{
  g_atomic_int_inc (&p->generation);
  g_clear_handle_id (&p->delay_id, g_source_remove);
}

static gboolean
send_request (gpointer data)
{
  Preview  *p     = data;
  Request  *r     = g_new0 (Request, 1);
  GError   *error = NULL;
  FgsdArgs  args;

  p->delay_id = 0;
  args_read (p->config, &args);
  r->generation = g_atomic_int_get (&p->generation);
  r->seed       = args.seed;
  r->model_path = model_path_resolve (args.model, &error);
  if (r->model_path && args.guidance > 1.0)
    r->guide_path = model_path_resolve_guide (args.guide_model, &error);
  if (r->model_path && (r->guide_path || ! (args.guidance > 1.0)))
    r->in = p->read (p->read_data, &args, &error);
  /* The thread gets numbers: the objects stay on this thread. */
  r->args                 = args;
  r->args.model           = NULL;
  r->args.guide_model     = NULL;
  r->args.reference_layer = NULL;
  args.weights            = NULL;
  args_clear (&args);
  if (! r->in)
    {
      gimp_preview_area_fill (GIMP_PREVIEW_AREA (p->area), 0, 0, PREVIEW_SIDE, PREVIEW_SIDE,
                              0x80, 0x80, 0x80);
      gtk_label_set_text (GTK_LABEL (p->label), error ? error->message : "");
      preview_log (p, "unavailable %s", error ? error->message : "");
      g_clear_error (&error);
      request_free (r);
      return G_SOURCE_REMOVE;
    }
  gtk_label_set_text (GTK_LABEL (p->label), _("Drawing the preview…"));
  g_async_queue_push (p->queue, r);
  return G_SOURCE_REMOVE;
}

static void
schedule (Preview *p)
{
  cancel (p);
  if (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (p->toggle)))
    p->delay_id = g_timeout_add (PREVIEW_DELAY_MS, send_request, p);
}

static void
config_changed (GObject *config, GParamSpec *pspec, Preview *p)
{
  schedule (p);
}

static void
toggled (GtkToggleButton *toggle, Preview *p)
{
  schedule (p);
  if (! gtk_toggle_button_get_active (toggle))
    {
      gimp_preview_area_fill (GIMP_PREVIEW_AREA (p->area), 0, 0, PREVIEW_SIDE, PREVIEW_SIDE,
                              0x80, 0x80, 0x80);
      gtk_label_set_text (GTK_LABEL (p->label), "");
    }
}

/* The dialog closes: nothing may run on after it. */
static void
destroyed (GtkWidget *widget, Preview *p)
{
  Request *quit = g_new0 (Request, 1);

  p->closed = TRUE;
  g_signal_handler_disconnect (p->config, p->notify_id);
  cancel (p);
  quit->quit = TRUE;
  g_async_queue_push (p->queue, quit);
  g_thread_join (p->thread);
  preview_log (p, "closed");
  g_object_unref (p->config);
  g_atomic_rc_box_release_full (p, (GDestroyNotify) preview_free);
}

/* ---- preview thread ------------------------------------------------------- */

static int
progress_cb (void *user, int step, float sigma, float fraction)
{
  Preview *p = user;

  return p->job != g_atomic_int_get (&p->generation);
}

static int
watch_cb (void *user, const float *rgb, int width, int height, int step)
{
  Preview *p = user;

  if (p->job != g_atomic_int_get (&p->generation))
    return 1;
  if (width <= PREVIEW_SIDE && height <= PREVIEW_SIDE)
    post (p, p->job, rgb, width, height,
          g_strdup_printf (_("Step %d…"), step));
  preview_log (p, "frame %d %d %d %d", p->job, step, width, height);
  return 0;
}

static void
close_guide (Preview *p)
{
  if (p->session)
    fgsd_session_set_guide (p->session, NULL);
  g_clear_pointer (&p->guide, fgsd_session_free);
  g_clear_pointer (&p->guide_model, fgsd_model_free);
  g_clear_pointer (&p->guide_path, g_free);
}

static gboolean
open_engine (Preview *p, const Request *r, GError **error)
{
  if (p->session && p->backend == r->args.backend && ! g_strcmp0 (p->model_path, r->model_path))
    return TRUE;
  close_guide (p);
  g_clear_pointer (&p->session, fgsd_session_free);
  g_clear_pointer (&p->model, fgsd_model_free);
  g_clear_pointer (&p->model_path, g_free);
  if (! engine_load_session (r->model_path, args_backend (&r->args), progress_cb, p,
                             _("Cannot use the model file “%s”: %s%s%s"), "%s%s%s", &p->model,
                             &p->session, error))
    return FALSE;
  fgsd_session_set_watch (p->session, watch_cb, p, PREVIEW_WATCH_EVERY);
  p->model_path = g_strdup (r->model_path);
  p->backend    = r->args.backend;
  return TRUE;
}

/* Guidance's model beside the session, as engine_open_guide does for the
 * run: its passes are part of each step, no progress of its own. */
static gboolean
open_guide (Preview *p, const Request *r, GError **error)
{
  if (! r->guide_path)
    {
      fgsd_session_set_guide (p->session, NULL);
      return TRUE;
    }
  if (! p->guide || g_strcmp0 (p->guide_path, r->guide_path))
    {
      close_guide (p);
      if (! engine_load_session (r->guide_path, args_backend (&r->args), NULL, NULL,
                                 _("Cannot use the guide model file “%s”: %s%s%s"), "%s%s%s",
                                 &p->guide_model, &p->guide, error))
        return FALSE;
      p->guide_path = g_strdup (r->guide_path);
    }
  fgsd_session_set_guide (p->session, p->guide);
  return TRUE;
}

static void
render (Preview *p, const Request *r)
{
  GError *error = NULL;
  gfloat *rgb   = NULL;
  gint    w = 0, h = 0;

  p->job       = r->generation;
  p->job_start = g_get_monotonic_time ();
  preview_log (p, "start %d seed %u guided %d", r->generation, r->seed, r->guide_path != NULL);
  if (open_engine (p, r, &error) && open_guide (p, r, &error) &&
      p->render (p->session, &r->args, r->seed, r->in, &rgb, &w, &h, &error))
    {
      gdouble s = (g_get_monotonic_time () - p->job_start) / 1e6;

      post (p, r->generation, rgb, w, h,
            r->args.random_seed
              ? g_strdup_printf (_("%d × %d, seed %u, in %.1f s; Random seed: the result "
                                   "will have another"),
                                 w, h, r->seed, s)
              : g_strdup_printf (_("%d × %d, seed %u, in %.1f s"), w, h, r->seed, s));
      preview_log (p, "done %d %d %d %.3f", r->generation, w, h, s);
    }
  else if (r->generation == g_atomic_int_get (&p->generation))
    {
      post (p, r->generation, NULL, 0, 0, g_strdup (error ? error->message : ""));
      preview_log (p, "failed %d %s", r->generation, error ? error->message : "");
    }
  else
    preview_log (p, "cancelled %d", r->generation);
  g_clear_error (&error);
  g_free (rgb);
}

static gpointer
thread_main (gpointer data)
{
  Preview *p = data;

  for (;;)
    {
      Request *r = g_async_queue_pop (p->queue);
      Request *next;

      while ((next = g_async_queue_try_pop (p->queue)))
        {
          gboolean quit = r->quit;

          request_free (r);
          r = next;
          r->quit |= quit;
        }
      if (r->quit)
        {
          request_free (r);
          break;
        }
      if (r->generation == g_atomic_int_get (&p->generation))
        render (p, r);
      request_free (r);
    }
  close_guide (p);
  g_clear_pointer (&p->session, fgsd_session_free);
  g_clear_pointer (&p->model, fgsd_model_free);
  g_clear_pointer (&p->model_path, g_free);
  g_atomic_rc_box_release_full (p, (GDestroyNotify) preview_free);
  return NULL;
}

GtkWidget *
preview_new (GimpProcedureConfig *config, FgsdPreviewRead read, gpointer data,
             FgsdPreviewRender render_fn)
{
  Preview   *p   = g_atomic_rc_box_new0 (Preview);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *frame;

  p->config    = g_object_ref (config);
  p->read      = read;
  p->read_data = data;
  p->render    = render_fn;
  p->queue     = g_async_queue_new ();
  p->log_path  = g_strdup (g_getenv ("FGSD_PREVIEW_LOG"));

  frame   = gtk_frame_new (NULL);
  p->area = gimp_preview_area_new ();
  gtk_widget_set_size_request (p->area, PREVIEW_SIDE, PREVIEW_SIDE);
  gtk_container_add (GTK_CONTAINER (frame), p->area);
  gtk_widget_set_halign (frame, GTK_ALIGN_CENTER);
  gtk_box_pack_start (GTK_BOX (box), frame, FALSE, FALSE, 0);

  p->toggle = gtk_check_button_new_with_mnemonic (_("Pre_view"));
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (p->toggle), TRUE);
  gimp_help_set_help_data (p->toggle, _("Draw a small result at these settings, again after "
                                        "each change; the same seed gives the same texture "
                                        "as the final run at that size"),
                           NULL);
  gtk_box_pack_start (GTK_BOX (box), p->toggle, FALSE, FALSE, 0);

  p->label = gtk_label_new ("");
  gtk_label_set_line_wrap (GTK_LABEL (p->label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (p->label), 24);
  gtk_box_pack_start (GTK_BOX (box), p->label, FALSE, FALSE, 0);

  p->thread    = g_thread_new ("fgsd-preview", thread_main, g_atomic_rc_box_acquire (p));
  p->notify_id = g_signal_connect (config, "notify", G_CALLBACK (config_changed), p);
  g_signal_connect (p->toggle, "toggled", G_CALLBACK (toggled), p);
  g_signal_connect (box, "destroy", G_CALLBACK (destroyed), p);
  gtk_widget_show_all (box);
  schedule (p);
  return box;
}
